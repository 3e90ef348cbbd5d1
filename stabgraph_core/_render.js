// stabgraph's render function, loaded into kaleido's page after plotly.js.
//
// One Plotly draw per export, every asked format made from that one drawing: the SVG as
// drawn; a PNG painted from the SVG onto a canvas `pngScale` times larger (what plotly.js's
// own PNG export does); and for a PDF the SVG shown as the page's image, with the page sized
// to the figure, ready for Page.printToPDF (what kaleido's page does). kaleido's function
// draws the figure again for each format, and the draw is the slowest step of an export.
window.stabgraphRender = async function (figureJson, width, height, formats, pngScale) {
  const figure = JSON.parse(figureJson);
  const svg = await Plotly.toImage(
    { data: figure.data, layout: figure.layout, config: figure.config || {} },
    { format: 'svg', width: width, height: height, scale: 1, imageDataOnly: true }
  );
  const result = {};
  if (formats.includes('svg')) result.svg = svg;
  const printing = formats.includes('pdf');
  if (!printing && !formats.includes('png')) return result;

  // the page's own <img> only when it is printed: a detached image is never laid out
  const img = printing ? document.getElementById('kaleido-image') : new Image();
  if (printing) {
    document.getElementById('head-style').textContent =
      `@page { size: ${width}px ${height}px; } body { margin: 0; padding: 0; }`;
  }
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  if (printing) {  // the page shows it until the next print replaces it
    if (window.stabgraphShown) URL.revokeObjectURL(window.stabgraphShown);
    window.stabgraphShown = url;
  }
  try {
    img.src = url;
    await img.decode();
    if (formats.includes('png')) {
      const canvas = document.createElement('canvas');
      canvas.width = Math.round(width * pngScale);
      canvas.height = Math.round(height * pngScale);
      canvas.getContext('2d').drawImage(img, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
      const dataUrl = await new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(reader.result);
        reader.onerror = () => reject(reader.error);
        reader.readAsDataURL(blob);
      });
      result.png = dataUrl.slice(dataUrl.indexOf(',') + 1);
    }
  } finally {
    if (!printing) URL.revokeObjectURL(url);
  }
  return result;
};
