; gui_session.scm - the user-interface part of the GIMP integration tests (Script-Fu, GIMP 3.0 under Xvfb).
; The PDB cannot undo and cannot open menus, but a user can; integration.sh plays the user with xdotool while this
; script sets the scene, waits, and saves the image after each step for the inspector:
;   0. no model anywhere: a PDB error (no user interface needed, but only this run lacks a default model);
;   1. an image in a window, its layer with a white mask; plug-in-vitmatte run interactively with replace-mask
;      (integration.sh answers the dialog with Return), so the run removes that mask and adds its own in one undo
;      group; then Ctrl+Z (the white mask must be back, bit for bit) and Ctrl+Y in the image window;
;   1b. the scene, plug-in-vitmatte with output layer-mask-decontaminated (the layer is replaced by its copy with
;      the mask and the decontaminated colours); then Ctrl+Z: the original layer must be back, bit for bit;
;   2. an image without a trimap channel; ViTMatte started from the menus (Search Actions), a setting changed and
;      Help opened in its dialog: the error must come up as a GIMP message, the changed setting be remembered;
;   3. the scene with its trimap channel; ViTMatte started from the menus: a layer mask must appear;
;   4. the dialog again, where the test hook chooses ViTMatte-B (not downloaded), presses Download, Stop, and
;      Download again: the progress shows in the dialog (integration.sh takes screenshots), then OK mattes with the
;      downloaded model;
;   5. the preview: each view mode photographed and checked, the band width changed, then OK (the mask must equal
;      the preview's last alpha);
;   6. the preview of an 800 x 640 layer: the layer's alpha and mask (it has neither) refused in a run's words, then
;      a downscaled copy (its trimap checked), then Escape.
; Handshake through files in DIR: this script writes ready-dialog, ran, undone, redone, decon-ran, decon-undone,
; menu-error-ready, menu-ready, menu-done, download-ready, download-done, preview-ready, preview-done, preview-large-ready,
; preview-large-done; integration.sh writes next-step, menu-run-done, download-armed, preview-armed and
; preview-large-armed when the user action of a step is over (or may
; begin),
; and stop-waiting when it gives up, so a missed key press cannot hang the run.
; Needs vitmatte-batch.scm and integration.scm loaded first. Run: (vmp-gui-all "WORK" "MODEL")

(define (vmp-mask-id layer) (car (gimp-layer-get-mask layer)))

; Polls until (done?) or until integration.sh gives up; each poll is a PDB round trip, so the user interface
; handles the key presses in between.
(define (vmp-wait-until dir done?)
  (let loop ()
    (if (not (or (done?) (vitmatte-file-exists? (vmp-path dir "stop-waiting"))))
        (loop))))

(define (vmp-gui-undo dir model)
  (let* ((image (vmp-scene-with-trimap dir "scene.png"))
         (layer (vmp-layer image))
         (display (car (gimp-display-new image)))
         (new-mask -1))
    (gimp-layer-add-mask layer (car (gimp-layer-create-mask layer ADD-MASK-WHITE)))
    (vmp-save image dir "gui-before")
    (vmp-marker dir "ready-dialog")
    (vmp-record "gui-interactive"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-INTERACTIVE #:image image #:drawables (vector layer)
                                            #:replace-mask TRUE #:model model))))
    (set! new-mask (vmp-mask-id layer))
    (vmp-save image dir "gui-after")
    (vmp-marker dir "ran")
    (vmp-wait-until dir (lambda () (not (= (vmp-mask-id layer) new-mask))))
    (vmp-save image dir "gui-undone")
    (vmp-marker dir "undone")
    (vmp-wait-until dir (lambda () (= (vmp-mask-id layer) new-mask)))
    (vmp-save image dir "gui-redone")
    (vmp-marker dir "redone")
    (gimp-image-clean-all image)
    (gimp-display-delete display)))

(define (vmp-gui-decon-undo dir model)
  (let* ((image (vmp-scene-with-trimap dir "scene.png"))
         (layer (vmp-layer image))
         (display (car (gimp-display-new image))))
    (vmp-save image dir "gui-decon-before")
    (vmp-record "gui-decon"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                            #:output "layer-mask-decontaminated" #:model model))))
    (vmp-save image dir "gui-decon-after")
    (vmp-marker dir "decon-ran")
    (vmp-wait-until dir (lambda () (= (vmp-layer image) layer)))
    (vmp-save image dir "gui-decon-undone")
    (vmp-marker dir "decon-undone")
    (gimp-image-clean-all image)
    (gimp-display-delete display)))

(define (vmp-gui-menu-error dir)
  (let* ((image (vmp-load dir "scene.png"))
         (display (car (gimp-display-new image))))
    (vmp-save image dir "gui-menu-error-before")
    (vmp-marker dir "menu-error-ready")
    (vmp-wait-until dir (lambda () (vitmatte-file-exists? (vmp-path dir "next-step"))))
    (vmp-save image dir "gui-menu-error")
    (gimp-image-clean-all image)
    (gimp-display-delete display)))

; The run is started from the menus, so no call here returns when it ends: the script waits for integration.sh to see
; the plug-in's process end (menu-run-done).
(define (vmp-gui-menu dir)
  (let* ((image (vmp-scene-with-trimap dir "scene.png"))
         (display (car (gimp-display-new image))))
    (vmp-marker dir "menu-ready")
    (vmp-wait-until dir (lambda () (vitmatte-file-exists? (vmp-path dir "menu-run-done"))))
    (vmp-save image dir "gui-menu")
    (vmp-marker dir "menu-done")
    (gimp-image-clean-all image)
    (gimp-display-delete display)))

; Also the one bad input the console suite cannot set up: no model anywhere. This run is the only one without
; $VITMATTE_MODEL and without a model next to the plug-in (integration.sh sees to that).
(define (vmp-gui-no-model dir)
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (vmp-bad-case dir "bad-no-model-found" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:model "")))))

; A step whose dialog integration.sh plays through the hook file of $VITMATTE_GIMP_TEST_DIALOG (ui/test_hook.h): `image`
; (its scene set) in a window; STEP-ready, then once integration.sh wrote STEP-armed plug-in-vitmatte interactively
; (recorded as gui-STEP), the image saved as gui-STEP when `save?`, and STEP-done.
(define (vmp-gui-armed-step dir step image save?)
  (let* ((layer (vmp-layer image))
         (display (car (gimp-display-new image)))
         (name (string-append "gui-" step)))
    (vmp-marker dir (string-append step "-ready"))
    (vmp-wait-until dir (lambda () (vitmatte-file-exists? (vmp-path dir (string-append step "-armed")))))
    (vmp-record name
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-INTERACTIVE #:image image #:drawables (vector layer)))))
    (if save? (vmp-save image dir name))
    (vmp-marker dir (string-append step "-done"))
    (gimp-image-clean-all image)
    (gimp-display-delete display)))

; The dialog's Download, Stop and Download again, then OK.
(define (vmp-gui-download dir)
  (vmp-gui-armed-step dir "download" (vmp-scene-with-trimap dir "scene.png") #t))

; The preview (issue 13): the scene with the rough mask as its layer mask; integration.sh sets the trimap source to
; that mask through the dialog's hook, photographs each view mode and a second band width, then presses OK.
(define (vmp-gui-preview dir)
  (let* ((image (vmp-load dir "scene.png")))
    (vmp-add-rough-mask image (vmp-layer image) dir)
    (vmp-gui-armed-step dir "preview" image #t)))

; The preview of a layer too large for a full-size CPU preview (800 x 640): a downscaled copy; Escape closes the dialog.
(define (vmp-gui-preview-large dir)
  (let* ((image (vmp-load dir "scene_large.png")))
    (vmp-add-trimap-channel image dir "trimap_large.png" "trimap")
    (vmp-gui-armed-step dir "preview-large" image #f)))

(define (vmp-gui-all dir model)
  (set! vmp-results (open-output-file (vmp-path dir "gui-results.txt")))
  (vmp-gui-no-model dir)
  (vmp-gui-undo dir model)
  (vmp-gui-decon-undo dir model)
  (vmp-gui-menu-error dir)
  (vmp-gui-menu dir)
  (vmp-gui-download dir)
  (vmp-gui-preview dir)
  (vmp-gui-preview-large dir)
  (vmp-say "DONE")
  (close-output-port vmp-results))
