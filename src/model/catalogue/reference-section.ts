import { input } from "./input";
import { reference } from "./reference";

/**
 * The reference stage's section: its own codes and the -f FILE inputs', judged before any
 * network step as a reference is. One module for both, so the bundle holds them in one chunk:
 * `ref nginx`'s note reads one chunk, not three (docs/performance.md, "Start-up of ref and explain").
 */
export const referenceSection = { ...reference, ...input };
