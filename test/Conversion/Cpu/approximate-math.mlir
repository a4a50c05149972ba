// --st-approximate-math: f32 exp and erf (scalar and vector) become inline
// polynomials; other types and other functions are left alone.
// RUN: st-opt %s --st-approximate-math | FileCheck %s

// CHECK-LABEL: func.func @f32
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK: math.fma
// CHECK: math.log
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK: return
func.func @f32(%x: f32, %v: vector<8xf32>) -> (f32, vector<8xf32>, f32, f32) {
  %e = math.exp %x : f32
  %ev = math.exp %v : vector<8xf32>
  %r = math.erf %x : f32
  %l = math.log %x : f32
  return %e, %ev, %r, %l : f32, vector<8xf32>, f32, f32
}

// CHECK-LABEL: func.func @f64
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.erf %{{.*}} : f64
func.func @f64(%x: f64) -> (f64, f64) {
  %e = math.exp %x : f64
  %r = math.erf %x : f64
  return %e, %r : f64, f64
}
