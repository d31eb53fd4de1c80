import type { Stage } from "../model/stage";

// Placeholder until the dns stage lands (being written now).
export const dnsStage: Stage = {
  id: "dns",
  title: "dns",
  scope: "endpoint",
  needs: [],
  async run() {
    throw new Error("the dns stage is not implemented yet");
  },
};
