import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { FormErrors } from "./ui";

const shown = ["name", "providermap", "providermap.docker.flavor", "machines[0].hostKey"];

describe("FormErrors.from", () => {
  it("puts an API error beside the field it names", () => {
    const e = FormErrors.from(new ApiError(400, { error: "bad flavor", field: "providermap.docker.flavor" }), shown);
    expect(e.fields).toEqual({ "providermap.docker.flavor": "bad flavor" });
    expect(e.general).toBeNull();
  });

  it("uses the closest enclosing field shown for a deeper path", () => {
    const e = FormErrors.from(new ApiError(400, { error: "unknown key", field: "providermap.other.x" }), shown);
    expect(e.fields).toEqual({ providermap: "unknown key" });
    const m = FormErrors.from(new ApiError(400, { error: "not a key", field: "machines[0].hostKey" }), shown);
    expect(m.fields).toEqual({ "machines[0].hostKey": "not a key" });
  });

  it("keeps errors naming no shown field for the top of the form", () => {
    const error = new ApiError(400, { error: "odd", field: "somewhere.else" });
    const e = FormErrors.from(error, shown);
    expect(e.fields).toEqual({});
    expect(e.general).toBe(error);
    expect(FormErrors.from(new Error("network"), shown).general).toBeInstanceOf(Error);
  });

  it("treats a conflict as the name being taken", () => {
    const e = FormErrors.from(new ApiError(409, { error: "user 'neo' already exists" }), ["tenant.name", "x"]);
    expect(e.fields).toEqual({ "tenant.name": "user 'neo' already exists" });
    const none = FormErrors.from(new ApiError(409, { error: "busy" }), ["x"]);
    expect(none.general).toBeInstanceOf(ApiError);
  });
});
