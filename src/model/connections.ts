/**
 * Keep-alive connections shared by every HTTP client of one diagnosis: one dispatcher per
 * distinct endpoint settings, so v2, auth, manifest and blob reuse the connection the first of
 * them opened, as Docker's one transport per registry endpoint does
 * (moby/moby:registry/endpoint_v1.go builds it once; distribution's client reuses it per
 * request). src/registry/http.ts makes and finds the dispatchers; whoever created the set
 * (the runner) closes it when the run ends, so no idle socket outlives the run.
 */
export class SharedConnections<T extends { close(): Promise<void> } = { close(): Promise<void> }> {
  readonly #entries: { key: readonly unknown[]; value: T }[] = [];

  /** The dispatcher for these settings (compared field by field, by identity), made on first use. */
  get(key: readonly unknown[], make: () => T): T {
    const hit = this.#entries.find((e) => e.key.length === key.length && e.key.every((k, i) => Object.is(k, key[i])));
    if (hit) return hit.value;
    const value = make();
    this.#entries.push({ key, value });
    return value;
  }

  async close(): Promise<void> {
    const all = this.#entries.splice(0);
    await Promise.all(all.map((e) => e.value.close()));
  }
}
