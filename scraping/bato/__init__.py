"""Everything that knows how Bato speaks: title references, the GraphQL request, the answer."""
