import { Loading } from "@/app/_components/status";

// Shown while a console page's server component prefetches its data.
export default function ConsoleLoading() {
  return (
    <div className="page">
      <Loading />
    </div>
  );
}
