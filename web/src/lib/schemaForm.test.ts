import { describe, expect, it } from "vitest";
import { fieldPayload, formFields, initialValues, missingFields } from "./schemaForm";

// the shape of Coopr's openstack provider type (fixtures/coopr-plugin-specs)
const openstack = {
  parameters: {
    admin: {
      fields: {
        api_password: { label: "Password", tip: "Your Openstack password", type: "password" },
        api_user: { label: "Username", type: "text" },
        openstack_auth_url: { label: "Auth URL", type: "text", default: "http://x:5000/v2.0/tokens" },
        openstack_ssl_verify_peer: { label: "Verify SSL peers", type: "checkbox" },
        region: { label: "Region", type: "select", options: ["one", "two"] },
        odd: { label: "Odd", type: "colour" },
      },
      required: [["api_user", "api_password", "openstack_auth_url"]],
    },
    user: { fields: { zone: { label: "Zone", type: "text", override: true } }, required: [[]] },
  },
} as never;

describe("formFields", () => {
  it("orders required fields first, in the order of the required set", () => {
    const fields = formFields(openstack, "admin");
    expect(fields.map((f) => f.key)).toEqual([
      "api_user",
      "api_password",
      "openstack_auth_url",
      "odd",
      "region",
      "openstack_ssl_verify_peer",
    ]);
    expect(fields.filter((f) => f.required).map((f) => f.key)).toEqual([
      "api_user",
      "api_password",
      "openstack_auth_url",
    ]);
  });

  it("maps input types, keeping unknown ones as text and passwords sensitive", () => {
    const byKey = Object.fromEntries(formFields(openstack, "admin").map((f) => [f.key, f]));
    expect(byKey.api_password.input).toBe("password");
    expect(byKey.api_password.sensitive).toBe(true);
    expect(byKey.api_password.tip).toBe("Your Openstack password");
    expect(byKey.openstack_ssl_verify_peer.input).toBe("checkbox");
    expect(byKey.region.input).toBe("select");
    expect(byKey.region.options).toEqual(["one", "two"]);
    expect(byKey.odd.input).toBe("text");
  });

  it("answers the user role's fields separately, and nothing for an absent role", () => {
    const user = formFields(openstack, "user");
    expect(user.map((f) => f.key)).toEqual(["zone"]);
    expect(user[0].required).toBe(false);
    expect(user[0].override).toBe(true);
    expect(formFields({ parameters: {} } as never, "admin")).toEqual([]);
    expect(formFields(undefined, "admin")).toEqual([]);
  });

  it("a select without options is a text box", () => {
    const spec = { parameters: { admin: { fields: { s: { label: "S", type: "select" } } } } } as never;
    expect(formFields(spec, "admin")[0].input).toBe("text");
  });
});

describe("values", () => {
  const fields = formFields(openstack, "admin");

  it("start from what is stored, then from defaults", () => {
    const v = initialValues(fields, { api_user: "ann", openstack_ssl_verify_peer: "true" });
    expect(v.api_user).toBe("ann");
    expect(v.openstack_auth_url).toBe("http://x:5000/v2.0/tokens");
    expect(v.openstack_ssl_verify_peer).toBe(true);
    expect(v.api_password).toBeUndefined();
  });

  it("are missing by Coopr's rule: one required set must be full", () => {
    expect(missingFields({ api_user: "ann" }, [["api_user", "api_password"]])).toEqual(["api_password"]);
    expect(missingFields({ a: "1" }, [["a", "b", "c"], ["a", "d"]])).toEqual(["d"]);
    expect(missingFields({ a: "1", d: "x" }, [["a", "b", "c"], ["a", "d"]])).toEqual([]);
    expect(missingFields({ a: "  " }, [["a"]])).toEqual(["a"]);
    expect(missingFields({}, [[]])).toEqual([]);
    expect(missingFields({}, undefined)).toEqual([]);
  });

  it("are sent without empty text, with booleans or strings", () => {
    const values = { api_user: "ann", api_password: "", openstack_ssl_verify_peer: true, region: "two" };
    expect(fieldPayload(fields, values)).toEqual({
      api_user: "ann",
      openstack_ssl_verify_peer: true,
      region: "two",
    });
    expect(fieldPayload(fields, values, true).openstack_ssl_verify_peer).toBe("true");
  });
});
