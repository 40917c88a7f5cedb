/**
 * validatePolicy's messages under the field they are about: errors (announced as alerts
 * where `announce`: a form field the user just edited) and warnings with their ⚠ mark.
 */
export function FieldMessages({
  errors,
  warnings,
  announce = false,
}: {
  errors: readonly string[];
  warnings: readonly string[];
  announce?: boolean;
}) {
  return (
    <>
      {errors.map((m) => (
        <div key={m} className="field-error" role={announce ? "alert" : undefined}>
          {m}
        </div>
      ))}
      {warnings.map((m) => (
        <div key={m} className="field-warning">
          ⚠ {m}
        </div>
      ))}
    </>
  );
}
