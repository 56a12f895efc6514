// Validates an OpenAPI document (JSON on stdin) with @seriousme/openapi-schema-validator, an ES module
// that Jest's CommonJS sandbox cannot load; the test runs this file with node and reads the verdict.
import { Validator } from '@seriousme/openapi-schema-validator';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const validator = new Validator();
const result = await validator.validate(JSON.parse(Buffer.concat(chunks).toString('utf8')));
process.stdout.write(JSON.stringify({ ...result, version: validator.version }));
