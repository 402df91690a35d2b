// Reads a JSON array of LogQL queries on stdin and prints a JSON array of
// booleans: true when @grafana/lezer-logql parses the query without any
// error node in the syntax tree. Used by tests/logql_conformance.rs.
import { parser } from "@grafana/lezer-logql";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const queries = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const results = queries.map((q) => {
  let ok = true;
  parser.parse(q).iterate({
    enter: (node) => {
      if (node.type.isError) ok = false;
      return ok;
    },
  });
  return ok;
});
process.stdout.write(JSON.stringify(results) + "\n");
