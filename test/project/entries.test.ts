// Each vitest project loads the package from where it says: the src project
// from src/ (vitest.config.ts resolves each entry to its index.ts), the dist
// project from the build, through package.json's exports, as a user's code
// does. A test in either project that imports an entry gets that copy.
import { describe, expect, it } from "vitest";
import * as root from "enrollgate";
import * as apple from "enrollgate/apple";
import * as cli from "enrollgate/cli";
import * as ddm from "enrollgate/ddm";
import * as express from "enrollgate/express";
import * as feeds from "enrollgate/feeds";
import * as gate from "enrollgate/gate";
import * as policy from "enrollgate/policy";
import * as report from "enrollgate/report";
import { ENTRIES } from "../helpers/package-entries.js";
import { projectPath } from "../helpers/project.js";

const LOADED: Readonly<Record<string, unknown>> = {
  enrollgate: root,
  "enrollgate/apple": apple,
  "enrollgate/cli": cli,
  "enrollgate/ddm": ddm,
  "enrollgate/express": express,
  "enrollgate/feeds": feeds,
  "enrollgate/gate": gate,
  "enrollgate/policy": policy,
  "enrollgate/report": report,
};

describe("the package's entries, in this project", () => {
  it("are all imported here", () => {
    expect(Object.keys(LOADED).sort()).toEqual(ENTRIES.map((e) => e.name).sort());
  });

  for (const entry of ENTRIES) {
    it(`${entry.name} is the project's own copy: src/ in src, dist/ in dist`, async ({ task }) => {
      const where = task.file.projectName === "dist" ? entry.import.slice(2) : entry.source;
      expect(LOADED[entry.name]).toBe(await import(/* @vite-ignore */ projectPath(where)));
    });
  }
});
