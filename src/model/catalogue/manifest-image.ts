/** What every manifest finding knows about the image. */
export interface Img {
  /** As the user would type it: "127.0.0.1:5000/team/app:1.0". */
  image: string;
  registry: string;
  repository: string;
  /** Tag or digest asked for. */
  reference: string;
  /** The endpoint that answered, e.g. "http://127.0.0.1:5000" for an insecure registry; fixes use its scheme. */
  baseUrl?: string;
}

export const mins = (s: number) => (s >= 3600 ? `${Math.round((s / 3600) * 10) / 10} h` : s >= 60 ? `${Math.round(s / 60)} min` : `${s} s`);
/** Platforms as a reader can take them in: each once, at most `max`, the rest counted (a hostile index may list 25,000). */
export const listed = (platforms: readonly string[], distinct?: number, max = 12): string => {
  const unique = [...new Set(platforms)];
  const all = Math.max(distinct ?? 0, unique.length);
  return all > max ? `${unique.slice(0, max).join(", ")} and ${all - max} more` : unique.join(", ");
};
export const hub = (r: string) => r === "docker.io" || r === "registry-1.docker.io" || r === "index.docker.io";
/** The API base to curl: the endpoint that answered (http:// for an insecure registry), else HTTPS. */
export const api = (p: Img) => p.baseUrl ?? (hub(p.registry) ? "https://registry-1.docker.io" : `https://${p.registry}`);
/** skopeo uses HTTPS unless told otherwise; a plain-HTTP registry needs --tls-verify=false. */
export const skopeo = (p: Img) => `skopeo${api(p).startsWith("http:") ? " --tls-verify=false" : ""}`;
