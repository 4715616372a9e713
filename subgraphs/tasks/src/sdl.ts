import 'reflect-metadata';
import { printSubgraphSchema } from '@apollo/subgraph';
import { buildTasksSchema } from './schema';

/** Prints this subgraph's SDL (used by `npm run compose`). */
void buildTasksSchema().then((schema) => process.stdout.write(printSubgraphSchema(schema)));
