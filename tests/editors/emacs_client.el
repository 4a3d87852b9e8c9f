;;; emacs_client.el --- drive eglot (Emacs 28, Debian's elpa-eglot 1.9) against torchmode  -*- lexical-binding: t -*-
;; Run by tests/editors/test_emacs.py:
;;   emacs --batch -Q -l emacs_client.el
;; Opens $TM_FILE, connects eglot to `torchmode server', waits for the Flymake
;; diagnostics, asks for a hover and the quick fixes at the first diagnostic, applies
;; the preferred one and writes what happened to $TM_OUT as JSON.
(require 'package)
;; -Q skips Debian's site-start, which adds the elpa-* packages (eglot is built in from Emacs 29)
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(package-initialize)
(require 'eglot)
(require 'json)

(defvar tm-timeout (/ (string-to-number (or (getenv "TM_TIMEOUT_MS") "60000")) 1000.0))
(defvar tm-result nil)

(defun tm-wait (pred what)
  "Process events until PRED holds; fail naming WHAT after `tm-timeout' seconds."
  (let ((deadline (+ (float-time) tm-timeout)))
    (while (not (funcall pred))
      (when (> (float-time) deadline) (error "Timed out waiting for %s" what))
      (accept-process-output nil 0.05))))

(defun tm-diagnostics ()
  (mapcar (lambda (d)
            (let ((lsp (cdr (assoc 'eglot-lsp-diag (flymake-diagnostic-data d)))))
              `((line . ,(1- (line-number-at-pos (flymake-diagnostic-beg d))))
                (code . ,(plist-get lsp :code))
                (source . ,(plist-get lsp :source))
                (message . ,(flymake-diagnostic-text d)))))
          (flymake-diagnostics)))

(defun tm-finish (err)
  (push `(error . ,err) tm-result)
  (push `(text . ,(buffer-substring-no-properties (point-min) (point-max))) tm-result)
  (with-temp-file (getenv "TM_OUT") (insert (json-encode tm-result)))
  (kill-emacs 0))

(defun tm-run ()
  (let* ((file (getenv "TM_FILE"))
         (cmd (append (json-parse-string (getenv "TM_SERVER_CMD") :array-type 'list)
                      (list :initializationOptions
                            (list :settings (json-parse-string (getenv "TM_SETTINGS") :object-type 'plist)))))
         (eglot-server-programs `((python-mode . ,cmd)))
         (project-find-functions (list (lambda (_dir) (cons 'transient (file-name-directory file))))))
    (find-file file)
    (python-mode)
    ;; what `eglot-ensure' does, without waiting for a command loop batch mode never runs
    (apply #'eglot (eglot--guess-contact))
    (tm-wait (lambda () (eglot-current-server)) "eglot to connect")
    (flymake-start)
    ;; 1. diagnostics through Flymake
    (tm-wait (lambda () (flymake-diagnostics)) "Flymake diagnostics")
    (push `(diagnostics . ,(vconcat (tm-diagnostics))) tm-result)
    ;; 2. hover at the forward call's model
    (goto-char (point-min))
    (forward-line (string-to-number (getenv "TM_HOVER_LINE")))
    (forward-char (string-to-number (getenv "TM_HOVER_CHAR")))
    (let ((hover (jsonrpc-request (eglot-current-server) :textDocument/hover
                                  (eglot--TextDocumentPositionParams))))
      (push `(hover . ,(plist-get (plist-get hover :contents) :value)) tm-result))
    ;; 3. the quick fixes for the first diagnostic (eglot sends it as the context)
    (let* ((diag (car (flymake-diagnostics)))
           (code (plist-get (cdr (assoc 'eglot-lsp-diag (flymake-diagnostic-data diag))) :code))
           (actions (eglot-code-actions (flymake-diagnostic-beg diag) (flymake-diagnostic-end diag) "quickfix"))
           (chosen (or (cl-find-if (lambda (a) (plist-get a :isPreferred)) actions) (car actions))))
      (push `(actions . ,(vconcat (mapcar (lambda (a) (plist-get a :title)) actions))) tm-result)
      (unless (plist-get chosen :edit) (error "The quick fix has no edit: %S" chosen))
      ;; 4. apply it as eglot's code-action command does
      (eglot--apply-workspace-edit (plist-get chosen :edit))
      (push `(applied . ,(plist-get chosen :title)) tm-result)
      ;; eglot sends the change from an idle timer, which batch mode never runs
      (eglot--signal-textDocument/didChange)
      ;; 5. the server analyses the changed buffer again: the finding is gone
      (tm-wait (lambda ()
                 (not (cl-find-if (lambda (d) (equal (alist-get 'code d) code)) (tm-diagnostics))))
               "the fixed diagnostic to go away")
      (push `(remaining . ,(vconcat (mapcar (lambda (d) (alist-get 'code d)) (tm-diagnostics)))) tm-result))
    (eglot-shutdown (eglot-current-server))))

(condition-case err
    (progn (tm-run) (tm-finish nil))
  (error (tm-finish (error-message-string err))))
