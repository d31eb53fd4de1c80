/**
 * The binary starts with JavaScriptCore's tier-up thresholds multiplied (scripts/compile.ts,
 * JIT_POLICY): a one-image check is run-once code that the JIT would compile for nothing (≈ 2–3 ms
 * of every check; docs/performance.md, "JIT policy"). Work that runs long enough to repay
 * compiling (a pull's blob loops, many images, a fleet) asks for the normal policy back.
 */
export function normalJit(): void {
  // Absent outside a compiled binary's runtime of this Bun (tests run the source): nothing to undo there.
  Bun.unsafe?.setJITPolicy?.(1);
}
