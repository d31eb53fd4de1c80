/** An internal error (a bug; the run still ends in a report): sysexits EX_SOFTWARE. */
export const EXIT_INTERNAL = 70;
