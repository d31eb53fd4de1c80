import type { Stage } from "../model/stage";

// Placeholder until the config stage lands (being written now).
export const configStage: Stage = {
  id: "config",
  title: "config",
  scope: "local",
  needs: [],
  async run() {
    throw new Error("the config stage is not implemented yet");
  },
};
