import type { Trace } from "../model/trace";
import { type ExchangeResult, exchange, type QType, type ServerAddress } from "./dns-exchange";

/** One question asked and its answer, JSON-safe: a type (not an interface) so it is also Evidence. */
export type DnsQueryRecord = {
  server: string;
  type: "A" | "AAAA";
  transport: "udp" | "tcp";
  rcode: string | null;
  answers: string[];
  cnames: string[];
  durationMs: number;
  error?: string;
  /** The fully-qualified name asked (a search-list expansion may differ from the host). */
  name?: string;
  /** The UDP reply was truncated (TC) and the question was asked again over TCP. */
  truncated?: boolean;
};

export type DnsOutcome = "ok" | "nxdomain" | "noanswer" | "servfail" | "timeout";

/** How one question (one name, one type) ended, and when. */
export type Verdict = { kind: DnsOutcome; rec: ExchangeResult | null; doneAt: number };

function record(r: ExchangeResult): DnsQueryRecord {
  const q: DnsQueryRecord = {
    server: r.server,
    name: r.name,
    type: r.type,
    transport: r.transport,
    rcode: r.rcode,
    answers: r.answers,
    cnames: r.cnames,
    durationMs: r.durationMs,
  };
  if (r.truncated) q.truncated = true;
  if (r.error) q.error = r.error;
  else if (r.rcode === "NOERROR" && r.answers.length === 0 && !r.authoritative && !r.recursionAvailable) q.error = "lame referral";
  return q;
}

/** One resolution's questions: the servers in order, `attempts` rounds, all within one deadline. */
export interface QuestionPlan {
  servers: ServerAddress[];
  attempts: number;
  useTcp: boolean;
  /** performance.now() by which every question has ended. */
  deadline: number;
  perQuery: number;
  signal: AbortSignal;
  trace?: Trace;
  /** Every query made, appended as it is answered (the evidence). */
  queries: DnsQueryRecord[];
}

/** Go's tryOneName for one question, as a function of (name, type). */
export function questioner(q: QuestionPlan): (name: string, type: QType) => Promise<Verdict> {
  const ask = async (srv: ServerAddress, name: string, type: QType): Promise<ExchangeResult | null> => {
    const left = Math.floor(q.deadline - performance.now());
    if (left <= 0 || q.signal.aborted) return null;
    const r = await exchange(srv, name, type, { timeoutMs: Math.min(q.perQuery, left), signal: q.signal, useTcp: q.useTcp });
    q.queries.push(record(r));
    q.trace?.record({
      kind: "dns",
      server: r.server,
      name,
      type,
      rcode: r.rcode,
      answers: [...r.answers, ...r.cnames],
      durationMs: r.durationMs,
      ...(r.error ? { error: r.error } : {}),
    });
    return r;
  };

  // Go's tryOneName for one question.
  return async (name: string, type: QType): Promise<Verdict> => {
    let last: Verdict = { kind: "timeout", rec: null, doneAt: 0 };
    for (let attempt = 0; attempt < q.attempts; attempt++) {
      for (const srv of q.servers) {
        const r = await ask(srv, name, type);
        if (!r) return { ...last, doneAt: performance.now() };
        if (r.error) {
          last = { kind: "timeout", rec: r, doneAt: 0 };
          if (r.errorKind === "aborted") return { ...last, doneAt: performance.now() };
          continue;
        }
        if (r.rcode === "NXDOMAIN") return { kind: "nxdomain", rec: r, doneAt: performance.now() };
        if (r.rcode === "NOERROR") {
          if (r.answers.length > 0) return { kind: "ok", rec: r, doneAt: performance.now() };
          // Go's checkHeader: no answer, not authoritative, no recursion ⇒ lame referral, next server.
          if (!r.authoritative && !r.recursionAvailable) {
            last = { kind: "servfail", rec: r, doneAt: 0 };
            continue;
          }
          return { kind: "noanswer", rec: r, doneAt: performance.now() };
        }
        last = { kind: "servfail", rec: r, doneAt: 0 };
      }
    }
    return { ...last, doneAt: performance.now() };
  };
}
