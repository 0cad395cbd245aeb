import { AuthForm } from "@/components/AuthForm";

export const metadata = { title: "Sign in · todo-api example" };

export default function SignInPage() {
  return <AuthForm mode="sign-in" />;
}
