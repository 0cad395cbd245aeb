import { AuthForm } from "@/components/AuthForm";

export const metadata = { title: "Create an account · todo-api example" };

export default function SignUpPage() {
  return <AuthForm mode="sign-up" />;
}
