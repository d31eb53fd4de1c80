import type { Stage } from "../model/stage";
import { authStage } from "./auth";
import { blobStage } from "./blob";
import { configStage } from "./config";
import { connectStage } from "./connect";
import { dnsStage } from "./dns";
import { manifestStage } from "./manifest";
import { proxyStage } from "./proxy";
import { referenceStage } from "./reference";
import { v2Stage } from "./v2";

/** Every diagnosis stage, in the order a pull meets them (SPEC). The pull stage runs after, in pull/. */
export const STAGES: readonly Stage[] = [
  referenceStage,
  configStage,
  dnsStage,
  proxyStage,
  connectStage,
  v2Stage,
  authStage,
  manifestStage,
  blobStage,
];
