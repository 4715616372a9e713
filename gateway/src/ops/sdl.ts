import 'reflect-metadata';
import { printSubgraphSchema } from '@apollo/subgraph';
import { buildOpsSchema } from './schema';

/** Prints the ops subgraph's SDL (used by `npm run compose`). */
void buildOpsSchema().then((schema) => process.stdout.write(printSubgraphSchema(schema)));
