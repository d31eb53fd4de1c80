import type { Stage } from "../model/stage";

// Placeholder until the proxy stage lands (being written now).
export const proxyStage: Stage = {
  id: "proxy",
  title: "proxy",
  scope: "endpoint",
  needs: [],
  async run() {
    throw new Error("the proxy stage is not implemented yet");
  },
};
