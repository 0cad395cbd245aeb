"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";

import { forgetToken } from "@/lib/api";
import { authClient } from "@/lib/auth-client";

/** AuthForm is the sign-up and the sign-in form: Better Auth's email and password. */
export function AuthForm({ mode }: { mode: "sign-up" | "sign-in" }) {
  const router = useRouter();
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const signUp = mode === "sign-up";

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email"));
    const password = String(form.get("password"));
    setBusy(true);
    setError("");
    const { error } = signUp
      ? await authClient.signUp.email({ name: String(form.get("name")), email, password })
      : await authClient.signIn.email({ email, password });
    setBusy(false);
    if (error) {
      setError(error.message ?? error.statusText ?? "That did not work; try again.");
      return;
    }
    forgetToken(); // a token cached for whoever was signed in before
    router.replace("/");
    router.refresh();
  }

  return (
    <section className="auth">
      <h1>{signUp ? "Create an account" : "Sign in"}</h1>
      <form onSubmit={submit} aria-describedby="auth-error">
        {signUp && (
          <label>
            Name
            <input name="name" autoComplete="name" required />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={signUp ? "new-password" : "current-password"}
            minLength={8}
            required
          />
        </label>
        <p id="auth-error" className="error" role="alert">
          {error}
        </p>
        <button type="submit" disabled={busy}>
          {signUp ? "Create account" : "Sign in"}
        </button>
      </form>
      <p>
        {signUp ? (
          <>
            Have an account? <Link href="/sign-in">Sign in</Link>
          </>
        ) : (
          <>
            New here? <Link href="/sign-up">Create an account</Link>
          </>
        )}
      </p>
    </section>
  );
}
