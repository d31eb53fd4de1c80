import type { Stage } from "../model/stage";

// Placeholder until the auth stage lands (being written now).
export const authStage: Stage = {
  id: "auth",
  title: "auth",
  scope: "endpoint",
  needs: [],
  async run() {
    throw new Error("the auth stage is not implemented yet");
  },
};
