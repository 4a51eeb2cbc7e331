// The viewer's scene panel: the session's entity tree (a checkbox per entity shows or hides
// it, a click on a name selects it), a field that loads a model, and one cut plane moved
// along an axis with a slider. It keeps the client's copy of the entities, updated from the
// replies of the requests it makes. A tree of thousands of entities stays quick: it shows
// ROWS_AT_ONCE rows, then a "… N more" row that shows the next ones when clicked.

const INDENT_PX = 12;
const AXES = { X: [1, 0, 0], Y: [0, 1, 0], Z: [0, 0, 1] };
const SLIDER_STEPS = 1000;
const ROWS_AT_ONCE = 300;

export class ScenePanel {
  // `onProblem(text)` hears every refusal shown; `onModels()` runs after a model was loaded.
  constructor(element, onProblem = () => {}, onModels = () => {}) {
    this.element = element;
    this.entities = new Map(); // id -> Entity, as the host last described it
    this.selected = null;
    this.cutPlane = null; // the panel's cut plane id
    this.session = null;
    this._onProblem = onProblem;
    this._onModels = onModels;
    this._find = (selector) => element.querySelector(selector);
    this._cut = { wanted: null, inFlight: false };
    this._rowsShown = ROWS_AT_ONCE;
  }

  /** Take the session's scene and start answering the panel's controls. */
  async attach(session) {
    this.session = session;
    this._find("#load").addEventListener("click", () => this.load(this._find("#model-url").value.trim()));
    this._find("#model-url").addEventListener("keydown", (event) => {
      if (event.key === "Enter") this.load(event.target.value.trim());
    });
    this._find("#tree").addEventListener("click", (event) => this._onTreeClick(event));
    this._find("#tree").addEventListener("change", (event) => this._onTreeChange(event));
    this._find("#cut").addEventListener("click", () => this.toggleCutPlane());
    this._find("#cut-axis").addEventListener("change", () => this._onAxis());
    this._find("#cut-position").addEventListener("input", () => this._moveCutPlane());
    await this.refresh();
  }

  /** The entities, parents before children. */
  entityList() {
    return [...this.entities.values()];
  }

  /** Ask the host for the whole tree again and show it. */
  async refresh() {
    try {
      this._replace(await this.session.entities());
      const planes = await this.session.cutPlanes();
      if (planes.length) this._adoptCutPlane(planes[0]);
      this.status("");
    } catch (error) {
      this.problem(error);
    }
  }

  async load(url) {
    if (!url) {
      this.status("Type a model's path or URL first.", true);
      return;
    }
    const button = this._find("#load");
    button.disabled = true;
    this.status(`Loading ${url}…`);
    try {
      const onProgress = ({ stage, fraction }) => this.status(`Loading ${url}: ${stage} ${Math.round(fraction * 100)}%`);
      const result = await this.session.loadModel(url, { onProgress });
      for (const entity of result.entities) this.entities.set(entity.id, entity);
      this._render();
      this.status(result.warning || `Loaded ${result.root.name}.`, Boolean(result.warning));
      this._onModels();
    } catch (error) {
      this.problem(error);
    } finally {
      button.disabled = false;
    }
  }

  /** Select one entity (its outline is drawn), or none with null; the one selected before
   * goes back to what it inherits. */
  async select(id) {
    const previous = this.selected;
    if (previous === id) return;
    try {
      if (previous !== null && this.entities.has(previous)) this._update(await this.session.setState(previous, { selected: null }));
      this.selected = null;
      if (id !== null) {
        this._update(await this.session.setState(id, { selected: true }));
        this.selected = id;
      }
    } catch (error) {
      this.problem(error);
    }
    this._render();
  }

  async setHidden(id, hidden) {
    try {
      this._update(await this.session.setState(id, { hidden: hidden ? true : null }));
    } catch (error) {
      this.problem(error);
    }
    this._render();
  }

  // ---- cut plane -------------------------------------------------------------------------
  async toggleCutPlane() {
    const button = this._find("#cut");
    button.disabled = true;
    try {
      if (this.cutPlane === null) {
        this._adoptCutPlane({ id: await this.session.addCutPlane(this._cutPlacement()) });
      } else {
        await this.session.removeCutPlane(this.cutPlane);
        this._adoptCutPlane(null);
      }
    } catch (error) {
      this.problem(error);
    } finally {
      button.disabled = false;
    }
  }

  // Where the slider and the axis put the plane: its normal along the axis, its point at the
  // slider's fraction of the scene's bounds on that axis.
  _cutPlacement() {
    const axis = this._find("#cut-axis").value;
    const index = "XYZ".indexOf(axis);
    const [low, high] = this._sceneRange(index);
    const fraction = Number(this._find("#cut-position").value) / SLIDER_STEPS;
    const point = [0, 0, 0];
    point[index] = low + (high - low) * fraction;
    return { point, normal: AXES[axis] };
  }

  _sceneRange(index) {
    let low = Infinity;
    let high = -Infinity;
    for (const entity of this.entities.values()) {
      if (entity.parent !== undefined || !entity.bounds) continue;
      low = Math.min(low, entity.bounds.min[index]);
      high = Math.max(high, entity.bounds.max[index]);
    }
    return low <= high ? [low, high] : [-1, 1];
  }

  _adoptCutPlane(plane) {
    this.cutPlane = plane ? plane.id : null;
    this._find("#cut").textContent = plane ? "Remove cut plane" : "Add cut plane";
    this._find("#cut-position").disabled = !plane;
  }

  _onAxis() {
    if (this.cutPlane !== null) this._moveCutPlane();
  }

  // While the slider is dragged: one set_cut_plane in flight at a time, then the newest.
  async _moveCutPlane() {
    if (this.cutPlane === null) return;
    this._cut.wanted = this._cutPlacement();
    if (this._cut.inFlight) return;
    this._cut.inFlight = true;
    try {
      while (this._cut.wanted !== null && this.cutPlane !== null) {
        const placement = this._cut.wanted;
        this._cut.wanted = null;
        await this.session.setCutPlane(this.cutPlane, placement);
      }
    } catch (error) {
      this.problem(error);
    } finally {
      this._cut.inFlight = false;
    }
  }

  // ---- tree ------------------------------------------------------------------------------
  _onTreeClick(event) {
    if (event.target.closest(".more")) {
      this._rowsShown += ROWS_AT_ONCE;
      this._render();
      return;
    }
    const name = event.target.closest(".name");
    if (name) this.select(Number(name.parentElement.dataset.id));
  }

  _onTreeChange(event) {
    if (event.target.type !== "checkbox") return;
    this.setHidden(Number(event.target.parentElement.dataset.id), !event.target.checked);
  }

  _replace(entities) {
    this.entities = new Map(entities.map((entity) => [entity.id, entity]));
    const selected = entities.find((entity) => entity.state && entity.state.selected === true);
    this.selected = selected ? selected.id : null;
    this._render();
  }

  _update(entity) {
    this.entities.set(entity.id, entity);
  }

  // A state the entity overrides itself, else the nearest ancestor's.
  _inherited(entity, name) {
    for (let at = entity; at; at = this.entities.get(at.parent)) {
      if (at.state && at.state[name] !== undefined && at.state[name] !== null) return at.state[name];
    }
    return false;
  }

  _render() {
    const tree = this._find("#tree");
    const children = new Map();
    for (const entity of this.entities.values()) {
      const key = this.entities.has(entity.parent) ? entity.parent : null;
      if (!children.has(key)) children.set(key, []);
      children.get(key).push(entity);
    }
    const rows = [];
    const walk = (parent, depth) => {
      for (const entity of children.get(parent) || []) {
        if (rows.length >= this._rowsShown) return;
        rows.push(this._row(entity, depth));
        walk(entity.id, depth + 1);
      }
    };
    walk(null, 0);
    const more = this.entities.size - rows.length;
    if (more > 0) rows.push(this._moreRow(more));
    tree.replaceChildren(...rows);
  }

  _moreRow(count) {
    const row = document.createElement("div");
    row.className = "row more";
    row.style.cursor = "pointer";
    row.textContent = `… ${count} more (show ${Math.min(count, ROWS_AT_ONCE)})`;
    return row;
  }

  _row(entity, depth) {
    const row = document.createElement("div");
    row.className = "row";
    row.dataset.id = String(entity.id);
    row.style.paddingLeft = `${depth * INDENT_PX}px`;
    row.classList.toggle("selected", entity.id === this.selected);
    row.classList.toggle("hidden", this._inherited(entity, "hidden") === true);
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = !(entity.state && entity.state.hidden === true);
    box.title = "shown";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = entity.name || `#${entity.id}`;
    row.append(box, name);
    return row;
  }

  // ---- status ----------------------------------------------------------------------------
  status(text, isError = false) {
    const line = this._find("#scene-status");
    line.textContent = text;
    line.classList.toggle("error", isError);
  }

  problem(error) {
    this.status(error.message, true);
    this._onProblem(error.message);
  }
}
