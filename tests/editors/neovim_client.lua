-- Drives Neovim's built-in LSP client (0.7+: vim.lsp.start_client) against
-- `torchmode server`: open the buggy file, wait for diagnostics, hover, ask for code
-- actions, apply the quick fix, and write what happened to $TM_OUT as JSON.
-- Run by tests/editors/test_neovim.py:
--   nvim --headless -u NONE -i NONE -n -c "luafile neovim_client.lua" -- FILE
local file = os.getenv('TM_FILE')
local out = os.getenv('TM_OUT')
local server = vim.fn.json_decode(os.getenv('TM_SERVER_CMD'))
local settings = vim.fn.json_decode(os.getenv('TM_SETTINGS'))
local timeout = tonumber(os.getenv('TM_TIMEOUT_MS') or '60000')
local result = {}

local function finish(err)
  result.error = err
  result.text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  local f = assert(io.open(out, 'w'))
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd('qall!')
end

local ok, err = pcall(function()
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.bo[bufnr].filetype = 'python'
  local client_id = vim.lsp.start_client({
    name = 'torchmode',
    cmd = server,
    root_dir = vim.fn.fnamemodify(file, ':h'),
    init_options = { settings = settings },
    settings = { torchmode = settings },
  })
  assert(client_id, 'the client did not start')
  vim.lsp.buf_attach_client(bufnr, client_id)
  local client = vim.lsp.get_client_by_id(client_id)

  -- 1. diagnostics (published by the server after didOpen)
  assert(vim.wait(timeout, function() return #vim.diagnostic.get(bufnr) > 0 end, 100), 'no diagnostics')
  result.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local lsp = d.user_data and d.user_data.lsp or {}
    table.insert(result.diagnostics, { line = d.lnum, col = d.col, code = lsp.code, message = d.message, source = d.source })
  end

  -- 2. hover on the forward call's model (line/character from the test)
  local at = { line = tonumber(os.getenv('TM_HOVER_LINE')), character = tonumber(os.getenv('TM_HOVER_CHAR')) }
  local hover = client.request_sync('textDocument/hover',
    { textDocument = vim.lsp.util.make_text_document_params(bufnr), position = at }, timeout, bufnr)
  assert(hover and hover.result, 'no hover: ' .. vim.inspect(hover))
  local contents = hover.result.contents
  result.hover = type(contents) == 'table' and (contents.value or vim.inspect(contents)) or tostring(contents)

  -- 3. code actions for the first diagnostic, with the diagnostic as context
  -- (0.7 keeps only code/data of the LSP diagnostic in user_data: rebuild it)
  local d = vim.diagnostic.get(bufnr)[1]
  local first = {
    range = { start = { line = d.lnum, character = d.col }, ['end'] = { line = d.end_lnum, character = d.end_col } },
    message = d.message, severity = d.severity, source = d.source, code = d.user_data.lsp.code,
    data = d.user_data.lsp.data,
  }
  local actions = client.request_sync('textDocument/codeAction', {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = first.range,
    context = { diagnostics = { first }, only = { 'quickfix' } },
  }, timeout, bufnr)
  assert(actions and actions.result, 'no code actions: ' .. vim.inspect(actions))
  result.actions = {}
  for _, a in ipairs(actions.result) do table.insert(result.actions, a.title) end

  -- 4. apply the preferred quick fix (resolved first when the server defers the edit)
  local chosen = actions.result[1]
  for _, a in ipairs(actions.result) do
    if a.isPreferred then chosen = a; break end
  end
  if not chosen.edit then
    local resolved = client.request_sync('codeAction/resolve', chosen, timeout, bufnr)
    assert(resolved and resolved.result and resolved.result.edit, 'resolve gave no edit')
    chosen = resolved.result
  end
  result.applied = chosen.title
  vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)

  -- 5. the server re-analyses the changed buffer: the fixed finding is gone
  local code = first.code
  assert(vim.wait(timeout, function()
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      if d.user_data.lsp.code == code then return false end
    end
    return true
  end, 100), 'the fixed diagnostic stayed')
  result.remaining = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do table.insert(result.remaining, d.user_data.lsp.code) end
  vim.lsp.stop_client(client_id)
end)
finish(not ok and tostring(err) or nil)
