import type { Stage } from "../model/stage";

// Placeholder until the v2 stage lands (being written now).
export const v2Stage: Stage = {
  id: "v2",
  title: "v2",
  scope: "endpoint",
  needs: [],
  async run() {
    throw new Error("the v2 stage is not implemented yet");
  },
};
