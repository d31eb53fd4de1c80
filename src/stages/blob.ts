import type { Stage } from "../model/stage";

// Placeholder until the blob stage lands (being written now).
export const blobStage: Stage = {
  id: "blob",
  title: "blob",
  scope: "endpoint",
  needs: [],
  async run() {
    throw new Error("the blob stage is not implemented yet");
  },
};
