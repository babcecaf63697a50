import { describe, expect, it } from "vitest";
import { checkTemplate, tabOf } from "./template";

const good = {
  name: "redis",
  compatibility: { services: ["a", "b"], hardwaretypes: ["small"], imagetypes: [] },
  defaults: { services: ["a"], hardwaretype: "small", config: {} },
  constraints: { size: { min: 1, max: 3 } },
  administration: { leaseduration: { initial: 0, max: 0, step: 0 } },
};

describe("checkTemplate", () => {
  it("accepts a consistent template", () => {
    expect(checkTemplate(good, "{}")).toEqual({});
  });

  it("names each broken field by its path", () => {
    const bad = {
      ...good,
      name: "bad name",
      defaults: { services: ["a", "z"], hardwaretype: "large", config: {} },
      constraints: { size: { min: 4, max: 2 }, services: { a: { quantities: { min: 3, max: 1 } } } },
      administration: { leaseduration: { initial: 10, max: 5, step: -1 } },
    };
    expect(checkTemplate(bad, "[1]")).toEqual({
      name: "letters, digits, '_', '.' and '-' only",
      "defaults.services": "not in the compatible services: z",
      "defaults.hardwaretype": "not one of the compatible hardware types",
      "defaults.config": "must be a JSON object",
      "constraints.size.max": "must not be below the minimum",
      "constraints.services.a.quantities.max": "must not be below the minimum",
      "administration.leaseduration.initial": "must not exceed the maximum lease",
      "administration.leaseduration.step": "must not be negative (0: unlimited)",
    });
  });

  it("reports config that is not JSON and a template without services", () => {
    const errors = checkTemplate({ ...good, defaults: { services: [] } }, "{");
    expect(errors["defaults.config"]).toMatch(/^not JSON/);
    expect(errors["defaults.services"]).toMatch(/at least one/);
  });

  it("maps paths to tabs", () => {
    expect(tabOf("name")).toBe("General");
    expect(tabOf("compatibility.services")).toBe("Compatibility");
    expect(tabOf("defaults.config")).toBe("Defaults");
    expect(tabOf("constraints.size.min")).toBe("Constraints");
    expect(tabOf("administration.leaseduration.max")).toBe("Lease");
  });
});
