import { headers } from "next/headers";
import { redirect } from "next/navigation";

import { Tasks } from "@/components/Tasks";
import { auth } from "@/lib/auth";

// The session is read on the server, so a signed-out visitor is sent to
// sign in before any of the tasks page's code runs.
export default async function Home() {
  const session = await auth.api.getSession({ headers: await headers() });
  if (!session) redirect("/sign-in");
  return <Tasks user={{ id: session.user.id, name: session.user.name, email: session.user.email }} />;
}
