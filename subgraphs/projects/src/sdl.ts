import 'reflect-metadata';
import { printSubgraphSchema } from '@apollo/subgraph';
import { buildProjectsSchema } from './schema';

/** Prints this subgraph's SDL (used by `npm run compose`). */
void buildProjectsSchema().then((schema) => process.stdout.write(printSubgraphSchema(schema)));
