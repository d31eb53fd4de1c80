import { defaultOptions, type Options } from "./options";
import { maskUserinfo } from "./redact";

/**
 * The flags of this run that change what the doctor sees: a fix that says "run pulldoctor check
 * IMAGE again" must say it with them, or the re-run diagnoses a different path (an insecure
 * registry treated as secure, another resolver, another CA directory). Output-only flags
 * (--json, --report, --verbose) and credentials (which the user chooses how to pass) are left out.
 */
export function rerunFlags(o: Options): string[] {
  const d = defaultOptions();
  const out: string[] = [];
  const add = (flag: string, value: string) => out.push(`${flag} ${shellWord(value)}`);
  if (o.platform) add("--platform", o.platform);
  if (o.dockerConfig) add("--docker-config", o.dockerConfig);
  if (o.daemonConfig !== d.daemonConfig) add("--daemon-config", o.daemonConfig);
  if (o.certsDir !== d.certsDir) add("--certs-dir", o.certsDir);
  for (const s of o.dns) add("--dns", s);
  for (const h of o.insecureRegistries) add("--insecure-registry", h);
  // A mirror's password is never printed: the command shows xxxxx where it goes, as moby does.
  for (const m of o.mirrors) add("--mirror", maskUserinfo(m));
  if (o.timeoutMs !== d.timeoutMs) add("--timeout", String(o.timeoutMs / 1000));
  if (o.client !== d.client) add("--client", o.client);
  if (o.dockerStore) add("--docker-store", o.dockerStore);
  if (o.containerdConfig) add("--containerd-config", o.containerdConfig);
  for (const h of o.hostsDirs) add("--hosts-dir", h);
  for (const s of o.pullSecrets) add("--pull-secret", s);
  if (o.registriesConf) add("--registries-conf", o.registriesConf);
  return out;
}

/** A word the shell reads back as itself: bare when it is plain, single-quoted otherwise. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const RERUN = /\bpulldoctor (check|pull) (\S+)/g;

/** Each `pulldoctor check|pull IMAGE` in the fixes, with this run's flags after IMAGE (none it already names). */
export function withRunFlags(fixes: readonly string[], o: Options): string[] {
  const flags = rerunFlags(o);
  if (flags.length === 0) return [...fixes];
  return fixes.map((fix) =>
    fix.replace(RERUN, (whole, verb: string, image: string) => {
      if (image.startsWith("-") || image === "IMAGE") return whole;
      const missing = flags.filter((f) => !fix.includes(f));
      return missing.length ? `pulldoctor ${verb} ${image} ${missing.join(" ")}` : whole;
    }),
  );
}
