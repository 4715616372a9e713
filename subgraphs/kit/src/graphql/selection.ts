import type { GraphQLResolveInfo, SelectionSetNode } from 'graphql';

/**
 * Names of the fields selected directly under the current field (fragments expanded), so a
 * resolver reads only what the query needs (e.g. a connection's `totalCount` without its edges).
 */
export function selectedFields(info: GraphQLResolveInfo): Set<string> {
  const out = new Set<string>();
  const visit = (set: SelectionSetNode | undefined) => {
    for (const sel of set?.selections ?? []) {
      if (sel.kind === 'Field') out.add(sel.name.value);
      else if (sel.kind === 'InlineFragment') visit(sel.selectionSet);
      else if (sel.kind === 'FragmentSpread') visit(info.fragments[sel.name.value]?.selectionSet);
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet);
  return out;
}
