; vitmatte-batch.scm - alpha matting of files with plug-in-vitmatte from gimp-console-3.0 (Script-Fu, GIMP 3.0).
;
; Load it in the same -b as the call (each -b is a fresh interpreter), and always pass --quit:
;
;   gimp-console-3.0 -i --batch-interpreter=plug-in-script-fu-eval \
;     -b '(begin (load "/usr/local/share/vitmatte-gimp/vitmatte-batch.scm")
;                (vitmatte-folder "photos" "trimaps" "cutouts" "small"))' --quit
;
; (vitmatte-file IMAGE TRIMAP OUTPUT MODEL)
;     Mattes one picture. TRIMAP is a grey file of the same size (white = foreground, black = background, grey =
;     unknown). OUTPUT is written as PNG: the picture with the predicted alpha as its transparency (for pictures
;     that already have transparency, the two multiply). The picture must load as one layer: a file that loads as
;     several (a multi-page TIFF, say) is refused, since the alpha would belong to one layer while the PNG shows
;     them all; flatten or split it first.
; (vitmatte-folder IN-DIR TRIMAP-DIR OUT-DIR MODEL)
;     Every IN-DIR/NAME.png, .jpg, .jpeg, .tif or .tiff with a trimap TRIMAP-DIR/NAME.png becomes OUT-DIR/NAME.png.
;     Pictures without a trimap are reported and skipped. Pictures that share a NAME (photo.png and photo.jpg) would
;     write the same OUT-DIR/NAME.png: the first one in the order .png .jpg .jpeg .tif .tiff (then the same in
;     capitals) is matted, the others are reported and skipped. Other errors stop the batch (gimp-console exits 70).
; MODEL is a downloaded model's name ("small", "base", ...: plug-in-vitmatte-download, or `vitmatte download`), a
; model folder (config.json + model.safetensors), or "" for the plug-in's default location.

(define (vitmatte-path dir file) (string-append dir "/" file))

; Refuses with `message`: uncaught it stops the batch ("Error: message", gimp-console exits 70); a caller's catch can
; handle it and read the message through its *error-hook*. It goes through *error-hook* as TinyScheme's own errors
; do, because `error` itself bypasses every catch.
(define (vitmatte-refuse message) (*error-hook* message))

; "a/b/photo.jpg" -> "photo"
(define (vitmatte-stem path)
  (let* ((chars (string->list path))
         (after-slash (let loop ((rest chars) (last chars))
                        (cond ((null? rest) last)
                              ((char=? (car rest) #\/) (loop (cdr rest) (cdr rest)))
                              (else (loop (cdr rest) last)))))
         (name (list->string after-slash))
         (dot (let loop ((i (- (string-length name) 1)))
                (cond ((< i 1) #f)
                      ((char=? (string-ref name i) #\.) i)
                      (else (loop (- i 1)))))))
    (if dot (substring name 0 dot) name)))

; The trimap file as a channel of `image`, the way one would do it in the GUI: the file on top as a layer, a
; channel from the red component of the image (the trimap's grey, as stored), the layer removed. The trimap file
; must be opaque (no transparent areas).
(define (vitmatte-trimap-channel image trimap-file)
  (let* ((layer (car (gimp-file-load-layer RUN-NONINTERACTIVE image trimap-file)))
         (w (car (gimp-drawable-get-width layer)))
         (h (car (gimp-drawable-get-height layer)))
         (channel 0))
    (if (not (and (= w (car (gimp-image-get-width image))) (= h (car (gimp-image-get-height image)))))
        (begin (gimp-item-delete layer)
               (vitmatte-refuse (string-append "vitmatte: the trimap " trimap-file " is " (number->string w) "x"
                                     (number->string h) ", the picture is "
                                     (number->string (car (gimp-image-get-width image))) "x"
                                     (number->string (car (gimp-image-get-height image)))))))
    (gimp-image-insert-layer image layer 0 0)
    (set! channel (car (gimp-channel-new-from-component
                         image
                         (if (= (car (gimp-image-get-base-type image)) GRAY) CHANNEL-GRAY CHANNEL-RED)
                         "trimap")))
    (gimp-image-insert-channel image channel 0 0)
    (gimp-image-remove-layer image layer)
    channel))

(define (vitmatte-file image-file trimap-file output-file model)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE image-file)))
         (layers (car (gimp-image-get-layers image))))
    (if (not (= (vector-length layers) 1))
        (begin (gimp-image-delete image)
               (vitmatte-refuse (string-append "vitmatte: " image-file " has " (number->string (vector-length layers))
                                     " layers; the alpha would belong to one of them while the PNG shows them all: "
                                     "flatten the picture (or save the layer you want) first"))))
    (let ((layer (vector-ref layers 0))
          (channel (vitmatte-trimap-channel image trimap-file)))
      (plug-in-vitmatte #:run-mode RUN-NONINTERACTIVE #:image image #:drawables (vector layer)
                        #:trimap-source "channel" #:trimap-channel channel #:output "layer-mask"
                        #:replace-mask TRUE #:model model)
      (file-png-export #:run-mode RUN-NONINTERACTIVE #:image image #:file output-file)
      (gimp-image-delete image)
      output-file)))

(define (vitmatte-pictures in-dir)
  (apply append
         (map (lambda (ext) (vector->list (vitmatte-glob (vitmatte-path in-dir (string-append "*." ext)))))
              '("png" "jpg" "jpeg" "tif" "tiff" "PNG" "JPG" "JPEG" "TIF" "TIFF"))))

(define (vitmatte-string-member? s strings)
  (and (pair? strings) (or (string=? s (car strings)) (vitmatte-string-member? s (cdr strings)))))

(define (vitmatte-folder in-dir trimap-dir out-dir model)
  (let loop ((pictures (vitmatte-pictures in-dir)) (written '()))
    (if (pair? pictures)
        (let* ((image-file (car pictures))
               (stem (vitmatte-stem image-file))
               (trimap-file (vitmatte-path trimap-dir (string-append stem ".png")))
               (output-file (vitmatte-path out-dir (string-append stem ".png"))))
          (cond ((vitmatte-string-member? stem written)
                 (gimp-message (string-append "vitmatte: skipped " image-file ": another picture called " stem
                                              " already went to " output-file))
                 (loop (cdr pictures) written))
                ((vitmatte-file-exists? trimap-file)
                 (vitmatte-file image-file trimap-file output-file model)
                 (gimp-message (string-append "vitmatte: wrote " output-file))
                 (loop (cdr pictures) (cons stem written)))
                (else
                 (gimp-message (string-append "vitmatte: no trimap " trimap-file ", skipped " image-file))
                 (loop (cdr pictures) written)))))))

(define (vitmatte-glob pattern)
  (let ((files (car (file-glob #:pattern pattern #:filename-encoding FALSE))))
    (if (vector? files) files (list->vector files))))

; TinyScheme has no file-exists?; opening the file for reading answers the question.
(define (vitmatte-file-exists? path)
  (let ((port (catch #f (open-input-file path))))
    (if port (begin (close-input-port port) #t) #f)))
