#!/usr/bin/env bun
/**
 * Rewrites the finding-code enum of docs/report.schema.json from the catalogue (stage
 * order), so the published schema never lags a new code. test/unit/report-schema.test.ts
 * fails when they differ.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CATALOGUE } from "../src/model/catalogue/index";

const file = path.join(import.meta.dir, "../docs/report.schema.json");
const schema = JSON.parse(readFileSync(file, "utf8"));
schema.$defs.code.enum = Object.keys(CATALOGUE);
writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
console.log(`docs/report.schema.json: ${Object.keys(CATALOGUE).length} codes`);
// The repository's formatter owns the file's layout, so a regenerated schema never shows as a diff.
Bun.spawnSync([process.execPath, "x", "biome", "format", "--write", file], { cwd: path.join(import.meta.dir, ".."), stdout: "ignore" });
