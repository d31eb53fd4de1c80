import type { Stage } from "../model/stage";

// Placeholder until the reference stage lands (being written now).
export const referenceStage: Stage = {
  id: "reference",
  title: "reference",
  scope: "local",
  needs: [],
  async run() {
    throw new Error("the reference stage is not implemented yet");
  },
};
