import { fileURLToPath } from "node:url";

import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // todo-api-client is installed from ../../clients/typescript, which npm
  // links rather than copies: Turbopack must be allowed to read the repository
  // above this folder. In a project of your own, with the package from the
  // registry or a tarball, leave this out.
  turbopack: { root: fileURLToPath(new URL("../..", import.meta.url)) },
};

export default nextConfig;
