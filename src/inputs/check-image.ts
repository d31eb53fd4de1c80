import { finding } from "../model/finding";
import { parseReference } from "../registry/reference";
import type { DocumentFindings, ImageSource } from "./types";

/** What a reader knows about the document it reads. */
export interface ReadContext {
  file: string;
  document: number;
}

/** An image found at `source`: kept when it parses as Docker parses references, else an INPUT_IMAGE_INVALID finding. */
export function addImage(
  out: DocumentFindings,
  image: string,
  source: ImageSource,
  extra: { platform?: string | null; pullSecrets?: string[]; waitingMessage?: string | null; waitingReason?: string | null } = {},
): void {
  try {
    parseReference(image);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const place = { file: source.file, document: source.document, line: source.line, object: source.object };
    out.findings.push(
      finding(
        "INPUT_IMAGE_INVALID",
        { ...place, image, container: source.container, message },
        { ...place, image, container: source.container },
      ),
    );
    return;
  }
  out.images.push({
    image,
    source,
    platform: extra.platform ?? null,
    pullSecrets: extra.pullSecrets ?? [],
    waitingMessage: extra.waitingMessage ?? null,
    waitingReason: extra.waitingReason ?? null,
  });
}

export function emptyFindings(): DocumentFindings {
  return { images: [], built: [], findings: [] };
}
