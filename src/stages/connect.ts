import type { Stage } from "../model/stage";

// Placeholder until the connect stage lands (being written now).
export const connectStage: Stage = {
  id: "connect",
  title: "connect",
  scope: "endpoint",
  needs: [],
  async run() {
    throw new Error("the connect stage is not implemented yet");
  },
};
