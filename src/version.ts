/** Kept in step with package.json by scripts/build.ts (checked in a test). */
export const VERSION = "0.1.0";
