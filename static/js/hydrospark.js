// Progress bars take their width from data-width: a style="" attribute would be refused by the site's
// Content-Security-Policy, while setting the style from a script file is allowed.
document.querySelectorAll("[data-width]").forEach((bar) => {
  bar.style.width = `${Number(bar.dataset.width) || 0}%`;
});
