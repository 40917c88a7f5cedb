export default function LoginPage() {
  return (
    <main>
      <h1>OriginGate</h1>
      <p>Sign in</p>
    </main>
  );
}
