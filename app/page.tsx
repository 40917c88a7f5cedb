import { redirect } from "next/navigation";

// GET / - the dashboard starts at the tenant list (sign-in is enforced there).
export default function Home() {
  redirect("/tenants");
}
