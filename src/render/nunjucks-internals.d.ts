// nunjucks' parser and node classes are not in @types/nunjucks; the template lint walks them.
declare module 'nunjucks/src/parser.js' {
  const parser: {parse(src: string, extensions?: unknown[], opts?: Record<string, unknown>): NunjucksNode}
  export default parser
}

declare module 'nunjucks/src/nodes.js' {
  const nodes: {Node: new (...args: never[]) => NunjucksNode; Output: new (...args: never[]) => NunjucksNode}
  export default nodes
}

interface NunjucksNode {
  readonly typename: string
  lineno: number
  colno: number
  children?: NunjucksNode[]
  name?: {value?: unknown}
}
