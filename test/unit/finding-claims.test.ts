import { describe, expect, test } from "bun:test";
import { finding } from "../../src/model/finding";
import { claimsCredentialsSent, evidenceShowsCredentialsSent, expectFindingsMatchEvidence } from "../helpers/finding-claims";

/** The checker that every auth stage run and every validated report goes through: it must catch issue 12 item 3. */
const base = {
  registry: "127.0.0.1:5001",
  host: "127.0.0.1:5001",
  repository: "team/app",
  image: "127.0.0.1:5001/team/app:1.0",
  user: "alice",
  credSource: "auths[127.0.0.1:5001] in /home/u/.docker/config.json",
};
const noAuthorization = { manifestHead: { status: 401, authorizationScheme: null }, credential: { kind: "password" } };

describe("the credentials-claim rule", () => {
  test("catches item 3: 'rejects the credentials' while the evidence shows no Authorization", () => {
    const f = finding("AUTH_UNAUTHORIZED", { ...base, where: "registry", status: 401, message: "" }, noAuthorization);
    expect(claimsCredentialsSent(f)).toBe(true);
    expect(() => expectFindingsMatchEvidence([f])).toThrow("its evidence shows none were sent");
  });

  test("accepts the same words when Basic went out, or credentials went to the token service", () => {
    const basic = finding(
      "AUTH_UNAUTHORIZED",
      { ...base, where: "registry", status: 401, message: "" },
      { manifestHead: { authorizationScheme: "basic" } },
    );
    const token = finding("AUTH_UNAUTHORIZED", { ...base, where: "token service", status: 401, message: "" }, { token: { as: "basic" } });
    expect(() => expectFindingsMatchEvidence([basic, token])).not.toThrow();
  });

  test("an anonymous bearer token is an Authorization header but not credentials", () => {
    expect(evidenceShowsCredentialsSent({ manifestHead: { authorizationScheme: "bearer" }, token: { as: "anonymous" } })).toBe(false);
    expect(evidenceShowsCredentialsSent({ manifestHead: { authorizationScheme: "bearer" }, token: { as: "refresh_token" } })).toBe(true);
  });

  test("with a trace: a claim needs a request that really carried an Authorization header", () => {
    const f = finding(
      "AUTH_DENIED",
      { ...base, status: 403, message: "", granted: "(no token)", isHub: false },
      { manifestHead: { authorizationScheme: "basic" } },
    );
    const none = { events: [{ kind: "http", requestHeaders: { accept: "*/*" } }] };
    const sent = { events: [{ kind: "http", requestHeaders: { authorization: "<redacted>" } }] };
    expect(() => expectFindingsMatchEvidence([f], none)).toThrow("no request in the trace");
    expect(() => expectFindingsMatchEvidence([f], sent)).not.toThrow();
  });

  test("AUTH_NOT_SENT and negations ('no credentials were sent', 'not sent') claim nothing", () => {
    const notSent = finding(
      "AUTH_NOT_SENT",
      {
        ...base,
        url: "http://r/v2/team/app/manifests/1.0",
        scheme: "basic",
        client: "docker (classic image store)",
        sendsOn401: false,
        retry: null,
      },
      noAuthorization,
    );
    expect(claimsCredentialsSent(notSent)).toBe(false);
    expect(
      claimsCredentialsSent({
        code: "BLOB_REDIRECT_INSECURE",
        title: "",
        detail: "(plain HTTP); no credentials were sent there",
        evidence: {},
      }),
    ).toBe(false);
    const over = finding("AUTH_BASIC_OVER_HTTP", { ...base, url: "http://r/v2/", sent: false, what: "the registry" }, {});
    expect(claimsCredentialsSent(over)).toBe(false);
  });
});
