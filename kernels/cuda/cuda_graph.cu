// Recording a whole forward pass as a CUDA graph per resolution key and replaying it, so that a repeated
// prediction costs one launch instead of a few hundred.
//
// A key's first pass runs its ops as issued and counts them; the second is captured and launched; later passes
// replay the graph (forward_begin returns 1). A captured graph is kept only when it holds as many ops as the
// uncaptured pass did, so a measuring pass, a cancelled pass or a failed pass is never replayed. Uploads always
// run when they are called (on a side stream while the main stream records); a recorded or replayed pass is put on
// the stream at the first download/synchronize or at forward_end, so uploads made inside the pass come first.
// Freeing any device memory drops every graph, since graphs hold raw pointers.
#include <string.h>

#include "cuda_backend.h"

bool vm_cuda_capturing(const vm_cuda *cu) { return cu->pass_state == VM_PASS_CAPTURING; }

static void drop_entry(vm_cuda_graph_entry *g) {
  if (g->exec) (void)cudaGraphExecDestroy(g->exec);
  memset(g, 0, sizeof *g);
}

void vm_cuda_graphs_invalidate(vm_cuda *cu) {
  for (int i = 0; i < VM_CUDA_GRAPHS; i++) {
    if (cu->graphs[i].exec) {
      (void)cudaGraphExecDestroy(cu->graphs[i].exec);
      cu->graphs[i].exec = NULL;
    }
  }
  /* A replay that has not been launched yet can no longer stand in for the ops. */
  if (cu->pass_state == VM_PASS_REPLAY) cu->pass_state = VM_PASS_NONE;
}

static void release_deferred(vm_cuda *cu) {
  for (int i = 0; i < cu->ndeferred; i++) vm_cuda_release(cu, cu->deferred[i]);
  cu->ndeferred = 0;
}

/* A pass that was never ended (the engine stopped on an error): stop recording and forget it. */
static void abandon_pass(vm_cuda *cu) {
  if (cu->pass_state == VM_PASS_CAPTURING) {
    cudaGraph_t g = NULL;
    (void)cudaStreamEndCapture(cu->stream, &g);
    if (g) (void)cudaGraphDestroy(g);
    (void)cudaGetLastError();
    (void)cudaStreamSynchronize(cu->stream);
    release_deferred(cu);
  }
  cu->pass_state = VM_PASS_NONE;
  cu->pass_entry = -1;
}

int vm_cuda_forward_begin(vm_backend *be, uint64_t key) {
  vm_cuda *cu = vm_cuda_of(be);
  abandon_pass(cu);
  cu->pass_ops = 0;
  cu->timing_valid = false;
  (void)cudaEventRecord(cu->ev_begin, cu->stream);
  if (cu->graphs_disabled) {
    cu->pass_state = VM_PASS_EAGER;
    return 0;
  }
  int slot = -1;
  for (int i = 0; i < VM_CUDA_GRAPHS; i++)
    if (cu->graphs[i].used && cu->graphs[i].key == key) slot = i;
  if (slot < 0) {
    /* the least recently used entry makes room */
    slot = vm_cuda_lru_slot(cu->graphs, VM_CUDA_GRAPHS);
    drop_entry(&cu->graphs[slot]);
    cu->graphs[slot].used = true;
    cu->graphs[slot].key = key;
    cu->graphs[slot].ops_expected = -1;
  }
  vm_cuda_graph_entry *g = &cu->graphs[slot];
  g->stamp = ++cu->clock;
  cu->pass_entry = slot;
  if (g->exec) {
    cu->pass_state = VM_PASS_REPLAY;
    return 1;
  }
  if (g->ops_expected > 0 && cudaStreamBeginCapture(cu->stream, cudaStreamCaptureModeRelaxed) == cudaSuccess) {
    cu->pass_state = VM_PASS_CAPTURING;
    return 0;
  }
  (void)cudaGetLastError();
  cu->pass_state = VM_PASS_EAGER;
  return 0;
}

vm_status vm_cuda_pass_flush(vm_cuda *cu, vm_error *err) {
  if (cu->pass_state == VM_PASS_REPLAY) {
    cu->pass_state = VM_PASS_LAUNCHED;
    VM_CU(cudaGraphLaunch(cu->graphs[cu->pass_entry].exec, cu->stream), "replaying the recorded forward pass");
    return VM_OK;
  }
  if (cu->pass_state != VM_PASS_CAPTURING) return VM_OK;
  cu->pass_state = VM_PASS_LAUNCHED;
  cudaGraph_t graph = NULL;
  cudaError_t e = cudaStreamEndCapture(cu->stream, &graph);
  if (e != cudaSuccess || !graph) {
    if (graph) (void)cudaGraphDestroy(graph);
    release_deferred(cu);
    return vm_cuda_rt_fail(err, e != cudaSuccess ? e : cudaErrorStreamCaptureInvalidated,
                           "recording the forward pass");
  }
  cudaGraphExec_t exec = NULL;
  e = cudaGraphInstantiate(&exec, graph, 0);
  (void)cudaGraphDestroy(graph);
  if (e != cudaSuccess) {
    release_deferred(cu);
    return vm_cuda_rt_fail(err, e, "instantiating the recorded forward pass");
  }
  e = cudaGraphLaunch(exec, cu->stream);
  vm_cuda_graph_entry *g = cu->pass_entry >= 0 ? &cu->graphs[cu->pass_entry] : NULL;
  bool keep = e == cudaSuccess && g && cu->pass_ops > 0 && cu->pass_ops == g->ops_expected && cu->ndeferred == 0;
  if (keep) {
    g->exec = exec;
  } else {
    cudaError_t s = cudaStreamSynchronize(cu->stream);
    if (e == cudaSuccess) e = s;
    (void)cudaGraphExecDestroy(exec);
    /* The first (eager) pass may have been cancelled or failed part-way and left a short count: adopt this pass's
     * count, so the next complete pass is recorded and kept instead of every later pass being discarded. */
    if (g && e == cudaSuccess) g->ops_expected = cu->pass_ops;
  }
  if (cu->ndeferred) {
    (void)cudaStreamSynchronize(cu->stream);
    release_deferred(cu);
  }
  if (e != cudaSuccess) return vm_cuda_rt_fail(err, e, "launching the recorded forward pass");
  return VM_OK;
}

vm_status vm_cuda_op_enter(vm_cuda *cu, vm_error *err) {
  (void)err;
  (void)cudaSetDevice(cu->device);
  /* The engine issues ops although a replay was offered: run them instead of the replay. */
  if (cu->pass_state == VM_PASS_REPLAY) cu->pass_state = VM_PASS_NONE;
  cu->pass_ops++;
  return VM_OK;
}

vm_status vm_cuda_forward_end(vm_backend *be, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  vm_status st = vm_cuda_pass_flush(cu, err);
  if (cu->pass_state == VM_PASS_EAGER && cu->pass_entry >= 0) cu->graphs[cu->pass_entry].ops_expected = cu->pass_ops;
  cudaError_t e = cudaEventRecord(cu->ev_end, cu->stream);
  cu->timing_valid = st == VM_OK && e == cudaSuccess;
  cu->pass_state = VM_PASS_NONE;
  cu->pass_entry = -1;
  if (st == VM_OK && e != cudaSuccess) return vm_cuda_rt_fail(err, e, "forward_end");
  return st;
}
