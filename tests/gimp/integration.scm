; integration.scm - the actions of the GIMP integration tests (Script-Fu, GIMP 3.0, default v2 dialect).
; Builds test images from the generated files, calls plug-in-vitmatte non-interactively (and once with last
; values), records each PDB status and message in results.txt and saves XCF files for inspect_images.py.
; It decides nothing: tests/gimp/integration.sh compares what was recorded and saved.
;
; Needs plugin/vitmatte-batch.scm loaded first (the installed copy): the trimap channels are made with its
; vitmatte-trimap-channel, as a batch run makes them, and it is tested itself.
; Run: (begin (load ".../vitmatte-batch.scm") (load ".../integration.scm")
;             (vmp-run-all "WORK" "MODEL" "MODEL-WITHOUT-WEIGHTS"))
; WORK holds scene.png, scene_gray.png, trimap.png, trimap_grey30.png, rough_mask.png, scene_rgba.png; results go
; there too.

(define vmp-results #f)

(define (vmp-flatten-lines text)
  ; one record per line, so a multi-line message stays on its own line
  (list->string (map (lambda (c) (if (char=? c #\newline) #\| c)) (string->list text))))

(define (vmp-say . parts)
  (display (vmp-flatten-lines (apply string-append parts)) vmp-results)
  (newline vmp-results))

; Calls thunk; returns (ok value) or (failed "message"). A failing PDB call raises a Script-Fu error whose text
; is "Procedure execution of plug-in-vitmatte failed: <the plug-in's message>"; the hook keeps that text.
(define (vmp-try thunk)
  (let* ((message "")
         (saved-hook *error-hook*)
         (result (catch (list 'failed message)
                   (set! *error-hook* (lambda (msg . rest) (set! message msg) (throw msg)))
                   (list 'ok (thunk)))))
    (set! *error-hook* saved-hook)
    result))

(define (vmp-path dir file) (string-append dir "/" file))

; Files as signals to integration.sh, which waits for them (and writes some that this side waits for).
(define (vmp-marker dir name)
  (let ((port (open-output-file (vmp-path dir name))))
    (display name port)
    (close-output-port port)))

(define (vmp-load dir file)
  (car (gimp-file-load RUN-NONINTERACTIVE (vmp-path dir file))))

(define (vmp-layer image)
  (vector-ref (car (gimp-image-get-layers image)) 0))

; A channel called `name` holding the grey levels of the trimap file, made by the batch helper the way a user
; would in the GUI (the file on top as a layer, a channel from its red component, the layer removed): the channel
; shows the file's grey levels as they are (128 stays 128).
(define (vmp-add-trimap-channel image dir file name)
  (let ((channel (vitmatte-trimap-channel image (vmp-path dir file))))
    (gimp-item-set-name channel name)
    channel))

; The scene with a trimap channel called "trimap" (what most cases start from).
(define (vmp-scene-with-trimap dir scene)
  (let ((image (vmp-load dir scene)))
    (vmp-add-trimap-channel image dir "trimap.png" "trimap")
    image))

; XCF files do not keep the selection's values exactly in GIMP 3.0.4 (they come back through the sRGB curve), so
; the selection is copied into the mask of a new top layer, which keeps them (both are linear).
(define (vmp-selection-as-mask image)
  (let ((carrier (car (gimp-layer-new image "selection" (car (gimp-image-get-width image))
                                      (car (gimp-image-get-height image)) RGB-IMAGE 100 LAYER-MODE-NORMAL))))
    (gimp-image-insert-layer image carrier 0 0)
    (gimp-layer-add-mask carrier (car (gimp-layer-create-mask carrier ADD-MASK-SELECTION)))))

(define (vmp-save image dir name)
  (gimp-xcf-save RUN-NONINTERACTIVE image (vmp-path dir (string-append name ".xcf"))))

(define (vmp-record name outcome)
  (if (eq? (car outcome) 'ok)
      (vmp-say "CASE " name " ok")
      (vmp-say "CASE " name " failed " (cadr outcome))))

(define (vmp-bool value) (if (or (eq? value #t) (and (number? value) (= value 1))) "1" "0"))

; ---- cases that must succeed -------------------------------------------------------------------------------

(define (vmp-good-cases dir model)
  ; trimap channel found by its name ("TriMap" matches the default "trimap" in any case), output: layer mask
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image)))
    (vmp-add-trimap-channel image dir "trimap.png" "TriMap")
    (vmp-record "channel-mask"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:model model))))
    (vmp-say "FACT channel-mask undo-enabled " (vmp-bool (car (gimp-image-undo-is-enabled image))))
    (vmp-save image dir "channel-mask")
    (gimp-image-delete image))

  ; trimap channel passed by ID, output: selection (replacing a selection made before)
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image))
         (channel (vmp-add-trimap-channel image dir "trimap.png" "my own trimap")))
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 0 0 10 10)
    (vmp-record "channel-to-selection"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:trimap-channel channel
                                            #:output "selection" #:model model))))
    (vmp-selection-as-mask image)
    (vmp-save image dir "channel-to-selection")
    (gimp-image-delete image))

  ; started with the trimap channel selected instead of the layer (as after painting it): the image's only layer is
  ; matted and the selected channel is the trimap, whatever its name
  (let* ((image (vmp-load dir "scene.png"))
         (channel (vmp-add-trimap-channel image dir "trimap.png" "painted edges")))
    (vmp-record "channel-selected"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector channel) #:model model))))
    (vmp-save image dir "channel-selected")
    (gimp-image-delete image))

  ; band around a rectangular selection, on a layer moved partly off the canvas
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image)))
    (gimp-layer-set-offsets layer 7 -5)
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 30 20 40 30)
    (vmp-record "selection-band"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:trimap-source "selection"
                                            #:band-width 6 #:model model))))
    (vmp-save image dir "selection-band")
    (gimp-image-delete image))

  ; a layer smaller than the canvas (cropped to 60x50 at (20,15)), band around a selection that reaches past it
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image)))
    (gimp-layer-resize layer 60 50 -20 -15)
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 30 20 40 30)
    (vmp-record "small-layer"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:trimap-source "selection"
                                            #:band-width 6 #:model model))))
    (vmp-save image dir "small-layer")
    (gimp-image-delete image))

  ; output: a new layer with the mask, the original left alone
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (vmp-save image dir "new-layer-before")
    (vmp-record "new-layer"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:output "new-layer" #:model model))))
    (vmp-save image dir "new-layer")
    (gimp-image-delete image))

  ; output: a new layer, made from a layer whose mask is switched off: the copy's mask holds the alpha, switched on
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (gimp-layer-add-mask layer (car (gimp-layer-create-mask layer ADD-MASK-WHITE)))
    (gimp-layer-set-apply-mask layer FALSE)
    (vmp-save image dir "new-layer-over-mask-before")
    (vmp-record "new-layer-over-mask"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:output "new-layer" #:model model))))
    (vmp-save image dir "new-layer-over-mask")
    (gimp-image-delete image))

  ; a grey image
  (let* ((image (vmp-scene-with-trimap dir "scene_gray.png")) (layer (vmp-layer image)))
    (vmp-record "gray"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:model model))))
    (vmp-save image dir "gray")
    (gimp-image-delete image))

  ; 16-bit perceptual and 32-bit float linear images, and a layer with an alpha channel
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (gimp-image-convert-precision image PRECISION-U16-NON-LINEAR)
    (vmp-record "u16"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:model model))))
    (vmp-save image dir "u16")
    (gimp-image-delete image))
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (gimp-image-convert-precision image PRECISION-FLOAT-LINEAR)
    (vmp-record "float"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:model model))))
    (vmp-save image dir "float")
    (gimp-image-delete image))
  ; a float linear image whose trimap channel has its unknown ring in 30 % grey (as painted with that grey): GIMP
  ; stores it linearly, 0.074, yet it is the 30 % the user sees, so it must count as unknown
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image)))
    (gimp-image-convert-precision image PRECISION-FLOAT-LINEAR)
    (vmp-add-trimap-channel image dir "trimap_grey30.png" "trimap")
    (vmp-record "float-grey30"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:model model))))
    (vmp-save image dir "float-grey30")
    (gimp-image-delete image))
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (gimp-layer-add-alpha layer)
    (vmp-record "with-alpha"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:model model))))
    (vmp-save image dir "with-alpha")
    (gimp-image-delete image))

  ; an existing mask replaced when asked to
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (gimp-layer-add-mask layer (car (gimp-layer-create-mask layer ADD-MASK-WHITE)))
    (vmp-record "replace-mask"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:replace-mask TRUE #:model model))))
    (vmp-save image dir "replace-mask")
    (gimp-image-delete image))

  ; last-values mode: no values were saved yet, so the defaults apply, and the model comes from $VITMATTE_MODEL
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (vmp-record "last-values"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-WITH-LAST-VALS #:image image
                                            #:drawables (vector layer)))))
    (vmp-save image dir "last-values")
    (gimp-image-delete image)))

; ---- rough masks as the trimap source ----------------------------------------------------------------------
; The rough mask file (half hard edge, half soft; vmp-make-test-images) becomes the layer's mask the way a user
; makes one from a selection: its channel -> selection -> Add Layer Mask (Selection). Its 0 and 255 stay exact and its
; soft levels stay soft, so the plug-in's band (#:band-width 5) is the brute-force mask_trimap.png the CLI gets.
(define (vmp-add-rough-mask image layer dir)
  (let ((channel (vitmatte-trimap-channel image (vmp-path dir "rough_mask.png"))))
    (gimp-image-select-item image CHANNEL-OP-REPLACE channel)
    (gimp-layer-add-mask layer (car (gimp-layer-create-mask layer ADD-MASK-SELECTION)))
    (gimp-selection-none image)
    (gimp-image-remove-channel image channel)))

(define (vmp-rough-mask-cases dir model)
  ; the layer's rough mask, replaced by the matte (no replace-mask needed: the mask was the input)
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image)))
    (vmp-add-rough-mask image layer dir)
    (vmp-save image dir "source-mask-before")
    (vmp-record "source-mask"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                            #:trimap-source "layer-mask" #:band-width 5 #:model model))))
    (vmp-save image dir "source-mask")
    (gimp-image-delete image))
  ; started with the rough mask itself selected (as after painting it), output: a new layer
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image)))
    (vmp-add-rough-mask image layer dir)
    (vmp-record "source-mask-new-layer"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector (car (gimp-layer-get-mask layer)))
                                            #:trimap-source "layer-mask" #:band-width 5 #:output "new-layer"
                                            #:model model))))
    (vmp-save image dir "source-mask-new-layer")
    (gimp-image-delete image))
  ; the layer's alpha: a cut-out whose alpha is the rough mask (scene_rgba.png)
  (let* ((image (vmp-load dir "scene_rgba.png")) (layer (vmp-layer image)))
    (vmp-record "source-alpha"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                            #:trimap-source "layer-alpha" #:band-width 5 #:model model))))
    (vmp-save image dir "source-alpha")
    (gimp-image-delete image))
  ; the same alpha in a 16-bit image (read as float alpha)
  (let* ((image (vmp-load dir "scene_rgba.png")) (layer (vmp-layer image)))
    (gimp-image-convert-precision image PRECISION-U16-NON-LINEAR)
    (vmp-record "source-alpha-u16"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                            #:trimap-source "layer-alpha" #:band-width 5 #:model model))))
    (vmp-save image dir "source-alpha-u16")
    (gimp-image-delete image)))

; ---- decontaminated colours ---------------------------------------------------------------------------------
; Each case saves NAME-before and NAME; integration.sh recomputes the decontamination from the "before" layer's
; pixels (in the layer's own encoding) with the engine and compares.
(define (vmp-decon-case dir model name scene prepare output amount decontaminate)
  (let* ((image (vmp-scene-with-trimap dir scene)) (layer (vmp-layer image)))
    (prepare image layer)
    (vmp-save image dir (string-append name "-before"))
    (vmp-record name
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                            #:output output #:decontaminate decontaminate
                                            #:decontaminate-amount amount #:model model))))
    (vmp-say "FACT " name " layers " (number->string (vector-length (car (gimp-image-get-layers image)))))
    (vmp-save image dir name)
    (gimp-image-delete image)))

(define (vmp-decontaminate-cases dir model)
  (define (as-is image layer) #t)
  (vmp-decon-case dir model "decon-mask" "scene.png" as-is "layer-mask-decontaminated" 100 FALSE)
  (vmp-decon-case dir model "decon-mask-40" "scene.png" as-is "layer-mask-decontaminated" 40 FALSE)
  (vmp-decon-case dir model "decon-new-layer" "scene.png" as-is "new-layer" 100 TRUE)
  (vmp-decon-case dir model "decon-gray" "scene_gray.png" as-is "layer-mask-decontaminated" 100 FALSE)
  (vmp-decon-case dir model "decon-alpha" "scene.png" (lambda (image layer) (gimp-layer-add-alpha layer))
                  "layer-mask-decontaminated" 100 FALSE)
  (vmp-decon-case dir model "decon-u16" "scene.png"
                  (lambda (image layer) (gimp-image-convert-precision image PRECISION-U16-NON-LINEAR))
                  "layer-mask-decontaminated" 100 FALSE)
  (vmp-decon-case dir model "decon-float" "scene.png"
                  (lambda (image layer) (gimp-image-convert-precision image PRECISION-FLOAT-LINEAR))
                  "layer-mask-decontaminated" 100 FALSE)
  ; a selection is active (it clips shadow merges): the colours must change outside it too
  (vmp-decon-case dir model "decon-selection" "scene.png"
                  (lambda (image layer) (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 0 0 20 20))
                  "layer-mask-decontaminated" 100 FALSE)
  ; decontaminate is for the new-layer output: with a plain layer mask it changes nothing but adding the mask
  (vmp-decon-case dir model "decon-ignored" "scene.png" as-is "layer-mask" 100 TRUE))

; ---- bad inputs: each must fail and leave the image as it was -------------------------------------------------

(define (vmp-bad-case dir name image thunk)
  (vmp-save image dir (string-append name "-before"))
  (vmp-record name (vmp-try thunk))
  (vmp-save image dir name)
  (gimp-image-delete image))

(define (vmp-bad-cases dir model model-without-weights)
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (gimp-drawable-fill (car (gimp-image-get-channel-by-name image "trimap")) FILL-WHITE)
    (vmp-bad-case dir "bad-no-unknown" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:model model))))
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (gimp-image-convert-indexed image CONVERT-DITHER-NONE CONVERT-PALETTE-GENERATE 255 FALSE FALSE "")
    (vmp-bad-case dir "bad-indexed" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:model model))))
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image)))
    (gimp-selection-none image)
    (vmp-bad-case dir "bad-empty-selection" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:trimap-source "selection" #:model model))))
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (vmp-bad-case dir "bad-missing-model" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:model "/nonexistent/vitmatte-model"))))
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (vmp-bad-case dir "bad-model-without-weights" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:model model-without-weights))))
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (gimp-layer-add-mask layer (car (gimp-layer-create-mask layer ADD-MASK-WHITE)))
    (vmp-bad-case dir "bad-existing-mask" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:model model))))
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (gimp-layer-set-offsets layer 500 500)
    (vmp-bad-case dir "bad-outside-canvas" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:model model))))
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (vmp-bad-case dir "bad-gpu-unavailable" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:device "gpu" #:model model))))
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (vmp-bad-case dir "bad-fp16-on-cpu" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:device "cpu" #:precision "fp16" #:model model))))
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image)))
    (vmp-bad-case dir "bad-no-layer-mask" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:trimap-source "layer-mask" #:model model))))
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image)))
    (vmp-bad-case dir "bad-no-alpha" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:trimap-source "layer-alpha" #:model model))))
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image)))
    (gimp-layer-add-mask layer (car (gimp-layer-create-mask layer ADD-MASK-WHITE)))
    (vmp-bad-case dir "bad-mask-without-edge" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:trimap-source "layer-mask" #:model model))))
  (let* ((image (vmp-load dir "scene.png")) (layer (vmp-layer image)))
    (vmp-bad-case dir "bad-no-channel" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:model model)))))

; ---- layers too large: refused from their size alone, before a pixel is read ----------------------------------
; The layers are never filled, so GIMP keeps them sparse and they cost nothing; no trimap channel either, which
; an earlier plug-in reached (and reported) before anything else.
(define (vmp-huge-case dir model name width height output)
  (let* ((image (car (gimp-image-new width height RGB)))
         (layer (car (gimp-layer-new image "huge" width height RGB-IMAGE 100 LAYER-MODE-NORMAL))))
    (gimp-image-insert-layer image layer 0 0)
    (vmp-record name
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                            #:device "cpu" #:output output #:model model))))
    (vmp-say "FACT " name " layers " (number->string (vector-length (car (gimp-image-get-layers image))))
             " channels " (number->string (vector-length (car (gimp-image-get-channels image))))
             " mask " (vmp-bool (car (gimp-item-id-is-valid (car (gimp-layer-get-mask layer))))))
    (gimp-image-delete image)))

(define (vmp-huge-cases dir model)
  ; 2^30 pixels, the most the engine takes: far more memory than a test machine has (about 150 GiB on the CPU)
  (vmp-huge-case dir model "huge-memory" 32768 32768 "layer-mask")
  ; the same with decontaminated colours: the foreground estimation's memory is checked first, before the model loads
  (vmp-huge-case dir model "huge-memory-decon" 32768 32768 "layer-mask-decontaminated")
  ; wider than the engine's 65536 pixels
  (vmp-huge-case dir model "huge-limits" 70000 16 "layer-mask"))

; ---- what a run adds ------------------------------------------------------------------------------------------
; The PDB has no "undo" call, so this headless case cannot undo (gui_session.scm presses Ctrl+Z under Xvfb: that is
; the undo proof). Here: the image before, after, and after removing the mask by hand. integration.sh checks that
; the run added exactly one mask and changed nothing else, and that removing it gives back the image before.
(define (vmp-mask-only-case dir model)
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (vmp-save image dir "mask-only-before")
    (vmp-record "mask-only"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:model model))))
    (vmp-say "FACT mask-only undo-enabled " (vmp-bool (car (gimp-image-undo-is-enabled image))))
    (vmp-save image dir "mask-only-after")
    (gimp-layer-remove-mask layer MASK-DISCARD)
    (vmp-save image dir "mask-only-removed")
    (gimp-image-delete image)))

; ---- the batch helper: refusals ----------------------------------------------------------------------------------
; A picture that loads as two layers: vitmatte-file must refuse it (and write nothing).
(define (vmp-batch-two-layers dir model)
  (let* ((image (vmp-load dir "scene.png"))
         (second (car (gimp-layer-copy (vmp-layer image)))))
    (gimp-image-insert-layer image second 0 0)
    (vmp-save image dir "two-layers")
    (gimp-image-delete image))
  (vmp-record "batch-two-layers"
    (vmp-try (lambda () (vitmatte-file (vmp-path dir "two-layers.xcf") (vmp-path dir "trimap.png")
                                       (vmp-path dir "two-layers-out.png") model)))))

; ---- cancel ----------------------------------------------------------------------------------------------------
; Cancelling the progress bar makes GIMP kill the plug-in (SIGKILL) as long as the progress runs; the plug-in ends
; it right before it changes the image, which takes Cancel away. integration.sh kills the plug-in at that last
; moment, after the model ran and the output was made and filled outside the image: the plug-in waits there while
; $VITMATTE_GIMP_TEST_PAUSE names an existing file (cancel-armed, written here). The image must be as before and
; still clean (no undo step). Two outputs: a replaced mask (the old one must survive) and a new layer.
(define (vmp-cancel-case dir model name output)
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (gimp-layer-add-mask layer (car (gimp-layer-create-mask layer ADD-MASK-WHITE)))
    (gimp-image-clean-all image)
    (vmp-save image dir (string-append name "-before"))
    (vmp-record name
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:output output #:replace-mask TRUE
                                            #:device "cpu" #:model model))))
    (vmp-say "FACT " name " dirty " (vmp-bool (car (gimp-image-is-dirty image))))
    (vmp-save image dir name)
    (gimp-image-delete image)))

; ---- models downloaded by plug-in-vitmatte-download ----------------------------------------------------------
; The function the dialog's Download button runs, called non-interactively. integration.sh serves the test model as
; the official checkpoints on 127.0.0.1 ($HF_ENDPOINT) and points $VITMATTE_MODELS at an empty folder; then
; #:model "small" mattes with what arrived, and a model that was not downloaded is refused with a message.
(define (vmp-download-cases dir)
  (let ((outcome (vmp-try (lambda () (car (plug-in-vitmatte-download #:run-mode RUN-NONINTERACTIVE
                                                                      #:model "small"))))))
    (vmp-record "download-small" outcome)
    (if (eq? (car outcome) 'ok) (vmp-say "FACT download-small folder " (cadr outcome))))
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (vmp-record "download-then-matte"
      (vmp-try (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image
                                            #:drawables (vector layer) #:model "small"))))
    (vmp-save image dir "download-then-matte")
    (gimp-image-delete image))
  (vmp-record "download-unknown-repo"
    (vmp-try (lambda () (plug-in-vitmatte-download #:run-mode RUN-NONINTERACTIVE #:model "nobody/nothing"))))
  (let* ((image (vmp-scene-with-trimap dir "scene.png")) (layer (vmp-layer image)))
    (vmp-bad-case dir "bad-not-downloaded" image
      (lambda () (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                                   #:model "base")))))

(define (vmp-run-all dir model model-without-weights)
  (set! vmp-results (open-output-file (vmp-path dir "results.txt")))
  (vmp-good-cases dir model)
  (vmp-rough-mask-cases dir model)
  (vmp-decontaminate-cases dir model)
  (vmp-bad-cases dir model model-without-weights)
  (vmp-huge-cases dir model)
  (vmp-mask-only-case dir model)
  (vmp-batch-two-layers dir model)
  (vmp-download-cases dir)
  (vmp-marker dir "cancel-armed")
  (vmp-cancel-case dir model "cancel-mask" "layer-mask")
  (vmp-cancel-case dir model "cancel-new-layer" "new-layer")
  (vmp-cancel-case dir model "cancel-decontaminated" "layer-mask-decontaminated")
  (vmp-say "DONE")
  (close-output-port vmp-results))
