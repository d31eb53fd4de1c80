import type { Stage } from "../model/stage";

// Placeholder until the manifest stage lands (being written now).
export const manifestStage: Stage = {
  id: "manifest",
  title: "manifest",
  scope: "endpoint",
  needs: [],
  async run() {
    throw new Error("the manifest stage is not implemented yet");
  },
};
