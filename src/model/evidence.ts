/** JSON-safe evidence: what a support engineer needs to see the failing hop without asking. */
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json | undefined };
export type Evidence = { [k: string]: Json | undefined };
