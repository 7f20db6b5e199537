// What a heatmap shows, next to every heatmap: which answer it explains and what its colours mean.
// The engine colours Grad-CAM with the Turbo map, only as strongly as the spot mattered (overlay.ts).

/** A short caption under a heatmap: "Red: where the model looked to say 'ants'…", with a colour scale. */
export function HeatmapLegend({ label }: { label: string }) {
  return (
    <p className="heatmap-legend small" data-testid="heatmap-legend">
      <span className="heatmap-scale" aria-hidden />
      <span>
        Red: where the model looked to say “{label}”. Blue or no colour: parts that did not matter.
      </span>
    </p>
  );
}
